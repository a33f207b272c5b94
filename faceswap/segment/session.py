"""Set up a masker training run (new, fine-tuned or resumed) on the shared training loop.

The net trains with faceswap/train/'s loop, hooks (progress, loss log, previews, checkpoints)
and checkpoint format; only the data (segment/samples.py), the loss (segment/step.py) and the
preview grid (segment/preview.py) are its own. ``truth = "landmarks"`` (``--synthetic``) learns
from every face with the landmark face region as truth: how the generic model is made;
``"labels"`` fine-tunes on the faces that carry user label polygons.
"""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceswap import __version__
from faceswap.errors import FaceSetError, InputError, ModelError
from faceswap.faceset.store import FaceSet, read_record
from faceswap.options import build_options, option, options_to_dict
from faceswap.registry import Registry
from faceswap.runtime.device import Device
from faceswap.segment.models import KIND, build_net, read_mask_model
from faceswap.segment.net import NetConfig, SegmentNet
from faceswap.segment.preview import mask_preview
from faceswap.segment.samples import SegmentDataset, SegmentSampleConfig
from faceswap.segment.step import SegmentStep
from faceswap.train.checkpoint import has_checkpoint, save_checkpoint
from faceswap.train.hooks import CheckpointHook, LossLogHook, PreviewHook
from faceswap.train.loop import TrainingRun, TrainSettings
from faceswap.train.samples import loader_batches, make_loader
from faceswap.train.session import PreparedTraining, restore_run
from faceswap.workspace import Workspace

INITS = ("generic", "none")


@dataclass(frozen=True)
class NetOptions:
    """Architecture changes for a new model (-O net.KEY=VALUE of 'faceswap mask train'); the
    initial model's weights carry over and the added stage starts from zero (net.py)."""

    fine: int = option(0, "channels of a full-resolution stage before the head (0: none)", min=0, max=64)
    limit: bool = option(False, "never mark face outside the landmarks' face region (for --synthetic; "
                                "label training turns it off, as labels may reach beyond that region)")
    unshuffle: bool = option(False, "the first convolution sees every pixel of the crop, not 2x2 averages")
    widen: float = option(1.0, "multiply the initial model's U-Net widths by this (its answers are kept: the "
                               "added channels start with no say)", min=1.0, max=4.0)


@dataclass(frozen=True)
class MaskTrainRequest:
    """Everything ``faceswap mask train`` asks for."""

    faces: tuple[str, ...]
    name: str = "segment"                   # models/<name>
    synthetic: bool = False                 # truth from the landmarks on every face, not user labels
    init: str = "generic"                   # generic | none | the name of another mask model
    masker: str = "segment"                 # the masker plugin whose shipped net 'generic' is
    resolution: int = 128                   # the net's crop side, for --init none
    sample_options: Mapping[str, Any] = field(default_factory=dict)
    settings: TrainSettings = TrainSettings(batch=16, lr=5e-4)
    seed: int | None = None
    preview_every: int = 100
    save_minutes: float = 10.0
    backups: int = 3
    workers: int = 1
    textures: tuple[Path, ...] = ()         # folders of non-face images for occluder textures
    net_options: Mapping[str, Any] = field(default_factory=dict)   # NetOptions keys to change
    occluder_weight: float = 0.0            # extra loss weight on face pixels an occluder covers (step.py)


def prepare_mask_training(request: MaskTrainRequest, workspace: Workspace, registry: Registry,
                          device: Device) -> PreparedTraining:
    """Build or resume the net, its optimiser, data and hooks (every user error surfaces here).

    Call it holding the model folder's lock (see cli/mask.py)."""
    folder = workspace.model_dir(request.name)
    net, checkpoint, origin = _resolve_net(request, folder, workspace, registry, device)
    seed = checkpoint.state.seed if checkpoint else (request.seed if request.seed is not None else random.randrange(2 ** 31))
    net.to(device.torch_device).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=request.settings.lr, weight_decay=1e-4)
    state = restore_run(checkpoint, optimizer, seed)
    truth = "landmarks" if request.synthetic else "labels"
    paths, weights = face_paths(workspace, request.faces, truth)
    config = build_options(SegmentSampleConfig, request.sample_options, "sample")
    dataset = SegmentDataset(paths, config, net.config.resolution, seed, truth, request.textures, weights,
                             net.config.prior)
    loader = make_loader(dataset, request.settings.batch, state.iteration, request.workers)
    # a segment sample has no unwarped twin: the swap trainer's late plain-input phase never applies
    settings = replace(request.settings, warp_until=1.0)
    run = TrainingRun(net, SegmentStep(net, occluder_weight=request.occluder_weight), optimizer,
                      loader_batches(loader), state, settings, torch.device(device.torch_device))
    info = {"plugin": request.masker, "kind": KIND, "net": net.config.as_dict(), "init": origin, "truth": truth,
            "facesets": list(request.faces), "sample_options": options_to_dict(config),
            "occluder_weight": request.occluder_weight,
            "faceswap_version": __version__, "name": folder.name}

    def save(r: TrainingRun) -> None:
        save_checkpoint(folder, info, r.model, r.optimizer, r.state, request.backups)

    hooks = [LossLogHook(folder),
             PreviewHook(folder, request.preview_every, lambda: preview_batch(dataset), mask_preview, ("mask",)),
             CheckpointHook(save, request.save_minutes)]
    return PreparedTraining(run, hooks, folder, state.iteration, samples_per_item=1)


def _resolve_net(request: MaskTrainRequest, folder: Path, workspace: Workspace, registry: Registry, device: Device):
    """(net, checkpoint to resume or None, where its first weights came from)."""
    changes = net_changes(request.net_options)
    if has_checkpoint(folder):
        config, checkpoint = read_mask_model(folder)
        if any(getattr(config, k) != v for k, v in changes.items() if k != "widen"):   # widen: its start only
            raise InputError(f"{folder} was started with other net options ({config.as_dict()}): drop -O net.* to "
                             f"resume it, or train a new --name")
        return build_net(config, checkpoint.weights, folder), checkpoint, str(checkpoint.model_info.get("init", "?"))
    if request.init == "none":
        torch.manual_seed(request.seed or 0)
        return SegmentNet(_changed(NetConfig(resolution=request.resolution), changes)), None, "none"
    if request.init == "generic":
        masker = registry.create("masker", request.masker, {}, device)
        net = getattr(masker, "net", None)
        if not isinstance(net, SegmentNet):
            raise ModelError(f"masker '{request.masker}' has no trainable segmentation net: use --init none")
        config, tensors, where, origin = net.config, net.state_dict(), folder, f"generic ({request.masker} {masker.version})"
    else:
        where = workspace.model_dir(request.init)
        if not has_checkpoint(where):
            raise ModelError(f"--init {request.init}: no mask model at {where} (use generic, none, or the name of "
                             f"a model 'faceswap mask train' wrote)")
        config, checkpoint = read_mask_model(where)
        tensors, origin = checkpoint.weights, request.init
    grown = _changed(config, changes)
    if not request.synthetic and grown.limit and "limit" not in changes:
        grown = replace(grown, limit=False)     # labels may include more than the landmarks' region
    if grown.fine < config.fine or grown.unshuffle < config.unshuffle:
        raise InputError(f"-O net.*: the initial model has {config.as_dict()}; a stage can be added, not removed")
    torch.manual_seed(request.seed or 0)
    grow = (grown.fine, grown.unshuffle, grown.widths) != (config.fine, config.unshuffle, config.widths)
    return build_net(grown, tensors, where, grow=grow), None, origin


def _changed(config: NetConfig, changes: Mapping[str, Any]) -> NetConfig:
    """``config`` with the user's net options (widen multiplies its widths)."""
    fields = {k: v for k, v in changes.items() if k != "widen"}
    widen = changes.get("widen", 1.0)
    return replace(config, **fields, widths=tuple(int(round(w * widen)) for w in config.widths))


def net_changes(values: Mapping[str, Any]) -> dict[str, Any]:
    """The NetOptions the user named, validated and typed (the rest keep the initial model's)."""
    options = build_options(NetOptions, values, "net")
    return {k: getattr(options, k) for k in values}


def face_paths(workspace: Workspace, names: Sequence[str], truth: str) -> tuple[list[Path], list[float]]:
    """The faces to learn from and how often to draw each: every face set weighs the square root
    of its size, so a long clip does not drown the photos of many other people."""
    paths: list[Path] = []
    weights: list[float] = []
    for name in names:
        faceset = FaceSet(workspace.faceset_dir(name))
        if not faceset.exists():
            raise FaceSetError(f"no face set '{name}' in {workspace.facesets}: extract it first, or name another with --faces")
        found = faceset.face_paths()
        if truth == "labels":
            found = [p for p in found if read_record(p).labels]
            if not found:
                raise FaceSetError(f"face set '{name}' has no labelled faces: import labels with 'faceswap mask label "
                                   f"{name} LABELS.json', or learn from the landmarks with --synthetic")
        if not found:
            raise FaceSetError(f"face set '{name}' holds no faces")
        paths += found
        weights += [1.0 / np.sqrt(len(found))] * len(found)
    return paths, weights


def preview_batch(dataset: SegmentDataset, count: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """The same occluded samples at every preview, so they show the net's progress."""
    samples = [dataset.sample(2 ** 40 + k, occluded=True) for k in range(count)]
    return (torch.from_numpy(np.stack([s["input"] for s in samples])),
            torch.from_numpy(np.stack([s["target"] for s in samples])))


def check_init(init: str) -> str:
    if not init or "/" in init:
        raise InputError(f"--init '{init}': use generic, none, or the name of a mask model in <workspace>/models/")
    return init
