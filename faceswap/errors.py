"""Expected problems a user can fix.

Every error here carries a one-line message that says what went wrong and
what to do. The CLI prints them as ``error: <message>`` and exits 1; anything
that is not a FaceswapError is a bug and gets a traceback.
"""


class FaceswapError(Exception):
    """Base of all user-facing errors."""


class InputError(FaceswapError):
    """A file or argument the user gave cannot be used."""


class NoFaceError(FaceswapError):
    """No face was found where one is needed."""


class PluginError(FaceswapError):
    """A plugin is unknown, broken or incompatible."""


class OptionError(FaceswapError):
    """One or more plugin or command options are invalid."""


class ModelError(FaceswapError):
    """A model file is missing, tampered with or of the wrong kind."""


class FaceSetError(FaceswapError):
    """A face set on disk is unreadable or inconsistent."""


class WorkspaceError(FaceswapError):
    """The workspace cannot be created or written."""


class DeviceError(FaceswapError):
    """The device cannot run what was asked (e.g. out of memory even at batch 1)."""
