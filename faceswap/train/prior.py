"""Face priors: a new model starts from the weights of one of the same architecture trained on
many people (``faceswap train --pretrain``), as DeepFaceLab's pretraining does.

A prior is either a trained model folder (its verified checkpoint) or one safetensors file
whose metadata holds the model plugin, its options and what data it saw. A model plugin
ships priors for its presets in ``PRIORS`` (WeightFiles: sha256-checked, never downloaded).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from faceswap.atomic import write_atomic
from faceswap.errors import ModelError
from faceswap.options import describe, options_to_dict
from faceswap.train.checkpoint import has_checkpoint, load_checkpoint
from faceswap.weights import locate
from faceswap.workspace import Workspace

AUTO, NONE = "auto", "none"


@dataclass(frozen=True)
class Prior:
    """Weights to start from, and where they came from (recorded in model.json)."""

    source: str
    plugin: str
    options: dict[str, Any]
    weights: dict[str, torch.Tensor]
    sha256: str
    grow: bool = False          # of another architecture the model grows it into (FaceModel.grows_from)

    def record(self) -> dict[str, str]:
        return {"source": self.source, "sha256": self.sha256}


def resolve_prior(init: str, plugin_cls: type, options: Any, preset: str | None,
                  workspace: Workspace) -> tuple[Prior | None, str]:
    """(the prior a new model starts from, or None; one line saying which) for ``--init``.

    ``auto``: a prior the plugin ships whose architecture matches these options (the preset's
    own first, ``quick`` when none is named), else one they grow from, else from scratch.
    ``none``: from scratch. Otherwise
    a model folder name in the workspace, a model folder path or a prior file: it must match.
    """
    if init == NONE:
        return None, "training from scratch (--init none)"
    if init == AUTO:
        return _shipped_prior(plugin_cls, options, preset or "quick")
    prior = _explicit_prior(init, workspace)
    mismatch = architecture_mismatch(plugin_cls, prior, options)
    if mismatch and _grows(plugin_cls, prior, options):
        note = f"starting from {prior.source}, grown to these options ({mismatch})"
        return dataclasses.replace(prior, grow=True), note
    if mismatch:
        raise ModelError(f"--init {init} is a prior of another architecture ({mismatch}): use a prior trained "
                         f"with the same model options, or --init none")
    return prior, f"starting from {prior.source}"


def _shipped_prior(plugin_cls: type, options: Any, preset: str) -> tuple[Prior | None, str]:
    """``--init auto``: the shipped prior that fits these options exactly, else one they grow from."""
    names = [preset, *(name for name in plugin_cls.PRIORS if name != preset)]
    shipped = {name: plugin_cls.PRIORS[name] for name in names if name in plugin_cls.PRIORS}
    if not shipped:
        return None, "training from scratch (no shipped prior for this model and preset)"
    growable, first_mismatch = None, ""
    for name, weight_file in shipped.items():
        prior = read_prior_file(locate(weight_file), f"shipped:{plugin_cls.name}-{name}")
        mismatch = architecture_mismatch(plugin_cls, prior, options)
        if not mismatch:
            return prior, f"starting from the shipped {name} face prior (--init none to train from scratch)"
        first_mismatch = first_mismatch or mismatch
        if growable is None and _grows(plugin_cls, prior, options):
            growable = (dataclasses.replace(prior, grow=True),
                        f"starting from the shipped {name} face prior, grown to these options ({mismatch})")
    return growable or (None, f"training from scratch: no shipped prior fits these options "
                              f"(the {next(iter(shipped))} prior: {first_mismatch})")


def architecture_mismatch(plugin_cls: type, prior: Prior, options: Any) -> str:
    """What differs between the prior and these options ('' when it fits)."""
    if prior.plugin != plugin_cls.name:
        return f"it is a '{prior.plugin}' model, not '{plugin_cls.name}'"
    wanted = options_to_dict(options)
    recorded = recorded_options(plugin_cls, prior)
    differing = [f"{row.name} {recorded[row.name]} vs {wanted[row.name]}"
                 for row in describe(plugin_cls.Options)
                 if row.spec.locked and recorded[row.name] != wanted[row.name]]
    return ", ".join(differing)


def recorded_options(plugin_cls: type, prior: Prior) -> dict[str, Any]:
    """The prior's options; one its record lacks was added since, with its default keeping the old architecture."""
    return {row.name: prior.options.get(row.name, row.default) for row in describe(plugin_cls.Options)}


def _grows(plugin_cls: type, prior: Prior, options: Any) -> bool:
    return prior.plugin == plugin_cls.name and plugin_cls.grows_from(recorded_options(plugin_cls, prior), options)


def apply_prior(model: torch.nn.Module, prior: Prior) -> None:
    """Copy the prior's weights into a new model (cast to the model's dtypes), or let it grow them."""
    if prior.grow:
        model.grow_from(prior.weights)
        return
    current = model.state_dict()
    weights = {k: v.to(current[k].dtype) if k in current else v for k, v in prior.weights.items()}
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"prior {prior.source} does not fit the model ({str(exc).splitlines()[0]})") from exc


def read_prior_file(path: Path, source: str | None = None) -> Prior:
    """A prior saved as one safetensors file with its description in the metadata."""
    data = Path(path).read_bytes()
    try:
        weights = load(data)
        header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
        meta = header["__metadata__"]
        options = json.loads(meta["options"])
        plugin = meta["plugin"]
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path} is not a faceswap face prior ({type(exc).__name__}: {exc})") from exc
    return Prior(source or f"file:{path}", plugin, options, weights, hashlib.sha256(data).hexdigest())


def write_prior_file(model_folder: Path, out: Path, description: Mapping[str, str], half: bool = True) -> str:
    """Turn a trained model folder into a prior file (fp16 by default); returns its sha256."""
    checkpoint = load_checkpoint(model_folder)
    info = checkpoint.model_info
    weights = {k: (v.half() if half and v.is_floating_point() else v).contiguous()
               for k, v in checkpoint.weights.items()}
    meta = {"plugin": info["plugin"], "options": json.dumps(info["options"], sort_keys=True),
            "iterations": str(checkpoint.state.iteration), **description}
    data = save(weights, metadata=meta)
    write_atomic(out, data)
    return hashlib.sha256(data).hexdigest()


def _explicit_prior(init: str, workspace: Workspace) -> Prior:
    named = workspace.model_dir(init)
    path = named if has_checkpoint(named) else Path(init)
    if path.is_dir() and has_checkpoint(path):
        checkpoint = load_checkpoint(path)
        digest = json.loads((checkpoint.folder / "trainer.json").read_text(encoding="utf-8"))["sha256"]
        return Prior(f"model:{path}", checkpoint.model_info["plugin"], checkpoint.model_info["options"],
                     checkpoint.weights, digest["weights.safetensors"])
    if path.is_file():
        return read_prior_file(path)
    raise ModelError(f"--init {init}: no model of that name in {workspace.models} and no prior file there; "
                     f"use a model folder, a prior .safetensors file, 'auto' or 'none'")
