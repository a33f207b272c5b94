"""Which extract plugins a command that finds faces on its own uses: those of related face sets.

merge (a missing destination set, --ref), score (a missing destination set) and the latent
commands (faces in photos) extract with the plugins and options the user chose for the face
sets involved, not with the defaults: a user who extracted with the Apache-2.0 set keeps it.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from faceswap.cli.context import AppContext
from faceswap.extract.plugins import ExtractChoice, ExtractPlugins, build_extract_plugins, choice_from_manifest
from faceswap.faceset.store import FaceSet
from faceswap.runtime.device import Device


def plugins_like(app: AppContext, facesets: Iterable[str], device: Device, *, identity: bool = True) -> ExtractPlugins:
    """The extract plugins of the first of ``facesets`` that exists (the defaults, with the
    workspace's faceswap.toml options, when none does). ``identity=False`` leaves out the
    identity plugin for commands that need no embeddings."""
    choice, options = _choice(app, facesets)
    if not identity:
        choice = dataclasses.replace(choice, identity=None)
    return build_extract_plugins(app.registry, choice, options, device)


def _choice(app: AppContext, facesets: Iterable[str]) -> tuple[ExtractChoice, dict]:
    for name in facesets:
        faceset = FaceSet(app.workspace.faceset_dir(name))
        if faceset.exists():
            return choice_from_manifest(faceset.read_manifest().plugins)
    choice = ExtractChoice()
    chosen = {"detector": [choice.detector], "landmarker": [choice.landmarker], "masker": list(choice.maskers)}
    if choice.identity:
        chosen["identity"] = [choice.identity]
    return choice, app.plugin_options(chosen, ())
