"""What plugin authors import: one base class per kind, the API version, ``option()``.

A plugin is one class in one file. It declares ``name``, ``version``, ``api_version``
and an ``Options`` dataclass, loads its model in ``__init__(options, device)`` and
implements the one method of its kind. Plugins are pure array functions: the core
owns threads, batching and devices. Conventions at every boundary:

- images are RGB uint8 ``(H, W, 3)``; coordinates are float32 pixels;
- landmarks are 68 points in the iBUG 300-W layout (convert your own layout);
- nothing prints, prompts or exits: raise ``faceswap.errors`` exceptions.

Example (a complete drop-in detector)::

    from dataclasses import dataclass
    from faceswap.plugin_api import API_VERSION, Detector, option

    class CentreBox(Detector):
        name = "centre-box"
        version = "1.0"
        api_version = API_VERSION

        @dataclass(frozen=True)
        class Options:
            fraction: float = option(0.5, "box side as a fraction of the frame", min=0.1, max=1)

        def detect(self, images):
            ...
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from faceswap.options import option  # re-exported for plugin authors
from faceswap.types import Detection, Landmarks

if TYPE_CHECKING:
    from faceswap.runtime.device import Device

__all__ = [
    "API_VERSION", "KINDS", "Kind", "Plugin", "Detector", "Landmarker", "Masker",
    "Identity", "ColorTransfer", "Blender", "NoOptions", "option", "Detection", "Landmarks",
]

# Bumped only when a base-class method signature changes; release notes say what changed.
# 2: the model contract (faceswap/model_api.py: ModelOptions, Encoded, decoder_count); the
#    other kinds did not change, so their plugins written for 1 still load.
API_VERSION = 2
_CHANGED_IN = {"model": 2}      # kind -> the API version its contract last changed in


def compatible_api_versions(kind: str) -> range:
    """The plugin API versions a plugin of ``kind`` may target."""
    return range(_CHANGED_IN.get(kind, 1), API_VERSION + 1)


@dataclass(frozen=True)
class NoOptions:
    """Options of a plugin that has none."""


class Plugin(ABC):
    """Common base: the class attributes every plugin declares."""

    kind: ClassVar[str]
    name: ClassVar[str]
    version: ClassVar[str]
    api_version: ClassVar[int]
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any, device: Device) -> None:
        self.options = options
        self.device = device


class Detector(Plugin):
    """Finds face boxes."""

    kind = "detector"

    @abstractmethod
    def detect(self, images: list[np.ndarray]) -> list[list[Detection]]:
        """One list of detections per image, best first. images: RGB uint8 (H, W, 3)."""


class Landmarker(Plugin):
    """Finds 68 iBUG landmarks for each detected face."""

    kind = "landmarker"

    @abstractmethod
    def landmarks(
        self, images: list[np.ndarray], detections: list[list[Detection]]
    ) -> list[list[Landmarks]]:
        """One Landmarks per detection, same nesting as ``detections``."""


class Masker(Plugin):
    """Computes a face mask on aligned faces."""

    kind = "masker"

    @abstractmethod
    def mask(self, faces: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """faces: (N, S, S, 3) uint8; landmarks: (N, 68, 2) float32 in face pixels.

        Returns (N, S, S) float32 in [0, 1], 1 = face.
        """


class Identity(Plugin):
    """Embeds faces so that the same person gives nearby vectors."""

    kind = "identity"

    @abstractmethod
    def embed(self, images: list[np.ndarray], landmarks: list[Landmarks]) -> np.ndarray:
        """images[i] is the frame holding face i. Returns (N, D) float32 unit vectors."""


class ColorTransfer(Plugin):
    """Matches a swapped face's colours to the face it replaces."""

    kind = "color"

    @abstractmethod
    def transfer(self, face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """face, target: (S, S, 3) float32 in [0, 1]; mask: (S, S) float32. Returns face."""


class Blender(Plugin):
    """Blends a face, already warped into the frame, under its mask."""

    kind = "blender"

    @abstractmethod
    def blend(self, frame: np.ndarray, face: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """frame, face: (H, W, 3) uint8; mask: (H, W) float32 in [0, 1]. Returns the frame."""


@dataclass(frozen=True)
class Kind:
    """A plugin kind: its entry-point group and base class (as 'module:attr', loaded lazily)."""

    name: str
    group: str
    base: str
    title: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("detector", "faceswap.detectors", "faceswap.plugin_api:Detector", "face detectors"),
        Kind("landmarker", "faceswap.landmarkers", "faceswap.plugin_api:Landmarker", "landmarkers"),
        Kind("masker", "faceswap.maskers", "faceswap.plugin_api:Masker", "maskers"),
        Kind("identity", "faceswap.identities", "faceswap.plugin_api:Identity", "identity embedders"),
        Kind("model", "faceswap.models", "faceswap.model_api:FaceModel", "face models"),
        Kind("color", "faceswap.color_transfers", "faceswap.plugin_api:ColorTransfer", "colour transfers"),
        Kind("blender", "faceswap.blenders", "faceswap.plugin_api:Blender", "blenders"),
    )
}
