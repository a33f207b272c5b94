"""Set up a training run (new or resumed) from a request, run it, and save it.

New model: preset < faceswap.toml < -O options. Resumed model: the stored options,
where a changed locked (architecture) option is a ModelError that says what to do.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceswap import __version__
from faceswap.errors import FaceSetError, ModelError
from faceswap.faceset.store import FaceSet, read_record
from faceswap.locking import exclusive_lock
from faceswap.model_api import PresetTraining
from faceswap.options import build_options, describe, options_to_dict
from faceswap.people.selection import faces_of, split_spec
from faceswap.plugin_api import API_VERSION
from faceswap.registry import Registry
from faceswap.runtime.device import Device
from faceswap.runtime.progress import NoProgress, Progress
from faceswap.train.adversarial import prepare_adversary
from faceswap.train.autobatch import choose_batch
from faceswap.train.checkpoint import (TrainerState, has_checkpoint, load_checkpoint, load_weights, read_model_info,
                                       remove_leftovers, save_checkpoint)
from faceswap.train.hooks import CheckpointHook, LossLogHook, PreviewHook, ProgressHook
from faceswap.train.loop import AUTO_BATCH, TrainingRun, TrainSettings, train
from faceswap.train.losses import LossConfig
from faceswap.train.optimizers import DEFAULT_OPTIMIZER, make_optimizer
from faceswap.train.pose_balance import pose_weights_for
from faceswap.train.prior import AUTO, NONE, apply_prior, resolve_prior
from faceswap.train.samples import FacePairDataset, FaceReader, SampleConfig, loader_batches, make_loader, make_sample
from faceswap.train.step import AutoencoderStep
from faceswap.train.stored import resolve_training, training_record
from faceswap.workspace import Workspace

log = logging.getLogger(__name__)

FEW_FACES = 5           # fewer faces in a set than this is worth a warning


@dataclass(frozen=True)
class TrainRequest:
    """Everything ``faceswap train`` asks for."""

    plugin: str = "sae"
    name: str | None = None                 # model folder; default: the plugin name
    src: tuple[str, ...] = ("src",)
    dst: tuple[str, ...] = ("dst",)
    preset: str | None = None
    model_options: Mapping[str, Any] = field(default_factory=dict)
    loss_options: Mapping[str, Any] = field(default_factory=dict)
    sample_options: Mapping[str, Any] = field(default_factory=dict)
    settings: TrainSettings = TrainSettings()
    seed: int | None = None
    preview_every: int = 100
    save_minutes: float = 10.0
    backups: int = 3
    workers: int = 1
    init: str = AUTO                        # a new model's start: auto (shipped prior), none, or a prior
    pretrain: bool = False                  # a face prior: every decoder learns every face set


@dataclass(frozen=True)
class TrainSummary:
    folder: Path
    start_iteration: int
    iteration: int
    stop_reason: str
    seconds: float
    last_losses: dict[str, float]


@dataclass
class PreparedTraining:
    """A model, its data and its hooks, ready to train; ``run`` trains it."""

    run: TrainingRun
    hooks: list
    folder: Path
    start_iteration: int
    samples_per_item: int = 2           # a swap model's batch item holds a src and a dst face
    note: str = ""                      # how a new model started (which prior), for the CLI to say
    batch_note: str = ""                # what --batch auto chose and why, for the CLI to say
    dataset: Any = None                 # what the loader draws samples from

    def train(self, progress: Progress | None = None) -> TrainSummary:
        self.hooks.insert(0, ProgressHook(progress if progress is not None else NoProgress(), self.samples_per_item))
        self.folder.mkdir(parents=True, exist_ok=True)
        reason = train(self.run, self.hooks)
        state = self.run.state
        last = state.losses[-1] if state.losses else {}
        return TrainSummary(self.folder, self.start_iteration, state.iteration, reason, state.seconds, last)


def run_training(request: TrainRequest, workspace: Workspace, registry: Registry, device: Device,
                 progress: Progress | None = None) -> TrainSummary:
    """Train (or resume) the model named by ``request``."""
    with model_lock(workspace, request):
        return prepare_training(request, workspace, registry, device).train(progress)


@contextmanager
def model_lock(workspace: Workspace, request: TrainRequest) -> Iterator[Path]:
    """Hold the model folder's lock (the first process of a torchrun job does, for all of them).

    The holder first deletes what saves killed earlier left behind (temp files, half-made backups).
    """
    folder = workspace.model_dir(request.name or request.plugin)
    if int(os.environ.get("RANK", "0")) != 0:
        yield folder
        return
    with exclusive_lock(folder, f"model {folder}"):
        remove_leftovers(folder)
        yield folder


def prepare_training(request: TrainRequest, workspace: Workspace, registry: Registry,
                     device: Device) -> PreparedTraining:
    """Build or resume the model, its optimiser, data loader and hooks (every user error surfaces here)."""
    folder = workspace.model_dir(request.name or request.plugin)
    request = _with_default_preset(request, folder, registry)
    plugin_cls, options, checkpoint = _resolve_model(request, folder, registry)
    if checkpoint:
        seed = checkpoint.state.seed
    else:
        seed = request.seed if request.seed is not None else random.randrange(2 ** 31)
    torch.manual_seed(seed)
    model = plugin_cls(options, device)
    note, init_record = "", checkpoint.model_info.get("init") if checkpoint else None
    if checkpoint:
        load_weights(model, checkpoint.weights, folder, checkpoint.model_info.get("plugin_version"))
    else:
        prior, note = resolve_prior(request.init, plugin_cls, options, request.preset, workspace)
        init_record = prior.record() if prior else {"source": NONE}
        if prior is not None:
            apply_prior(model, prior)
    model.to(device.torch_device)
    preset = request.preset or (checkpoint.model_info.get("preset") if checkpoint else None)
    tuned = plugin_cls.PRESET_TRAINING.get(preset, PresetTraining())     # the preset's own training defaults
    optimizer_name = _optimizer_name(request.settings.optimizer or (None if checkpoint else tuned.optimizer),
                                     checkpoint, folder)
    settings, loss_config, sample_config = resolve_training(request.settings, request.loss_options,
                                                            request.sample_options, tuned, options,
                                                            checkpoint, folder.name)
    optimizer = make_optimizer(optimizer_name, model.parameters(), settings.lr)
    state = restore_run(checkpoint, optimizer, seed)
    src, dst = _face_paths(workspace, request.src), _face_paths(workspace, request.dst)
    _check_sample_mask(workspace, sample_config.mask, (*request.src, *request.dst))
    warn_degenerate_input(workspace, request, two_people=plugin_cls.decoder_count > 1)
    rank, world = _distributed(device)
    torch_device = torch.device(device.torch_device)
    adversary, adversary_optimizer = prepare_adversary(loss_config, model, options.resolution, seed, torch_device,
                                                       settings.lr, checkpoint)
    step_module = AutoencoderStep(model, loss_config, *_deep_losses(loss_config, options, device), adversary)
    weights = {"src": pose_weights_for(src), "dst": pose_weights_for(dst)} if sample_config.uniform_pose else None
    dataset = FacePairDataset(src, dst, sample_config, seed, weights)
    settings = dataclasses.replace(settings, optimizer=optimizer_name)
    run = TrainingRun(model, step_module, optimizer, iter(()), state, settings, torch_device, is_main=rank == 0,
                      adversary=adversary, adversary_optimizer=adversary_optimizer)
    batch_note = ""
    if settings.batch == AUTO_BATCH:
        choice = choose_batch(run, dataset, loss_config, options.resolution, world)
        run.settings, batch_note = dataclasses.replace(settings, batch=choice.batch), choice.why
    if world > 1:       # the patch discriminator sits idle until gan_start
        run.step_module = torch.nn.parallel.DistributedDataParallel(step_module,
                                                                    find_unused_parameters=adversary is not None)
    batch = run.settings.batch
    first = state.samples if state.samples >= 0 else state.iteration * batch
    run.batches = loader_batches(make_loader(dataset, batch, 0, request.workers, rank, world, first_sample=first))
    if world == 1:      # under torchrun every rank would have to agree on a smaller batch: not caught there
        run.rebatch = lambda size, start: loader_batches(make_loader(dataset, size, 0, request.workers,
                                                                     first_sample=start))
    info = {**_model_info(plugin_cls, options, request, folder), "init": init_record, "optimizer": optimizer_name,
            "preset": preset, "training": training_record(run.settings, loss_config, sample_config)}

    def save(r: TrainingRun) -> None:
        side = (r.adversary, r.adversary_optimizer) if r.adversary is not None else None
        save_checkpoint(folder, info, r.model, r.optimizer, r.state, request.backups, side)

    hooks = [LossLogHook(folder),
             PreviewHook(folder, request.preview_every, lambda: preview_faces(src, dst, sample_config)),
             CheckpointHook(save, request.save_minutes)]
    return PreparedTraining(run, hooks, folder, state.iteration, note=note, batch_note=batch_note, dataset=dataset)


def restore_run(checkpoint: Any, optimizer: torch.optim.Optimizer, seed: int) -> TrainerState:
    """A new run's state, or a resumed one's: its optimiser moments, counters and random state."""
    threads = torch.get_num_threads()
    if not checkpoint:
        return TrainerState(seed=seed, threads=threads)
    optimizer.load_state_dict(checkpoint.optimizer)
    if checkpoint.rng is not None:
        torch.set_rng_state(checkpoint.rng)
    state = checkpoint.state
    if state.threads and state.threads != threads:
        log.warning("model '%s' last trained with %d torch threads, this run uses %d: it goes on, but not bit for "
                    "bit as an uninterrupted run would (--threads %d to match)", checkpoint.folder.name,
                    state.threads, threads, state.threads)
    state.threads = threads
    return state


def _with_default_preset(request: TrainRequest, folder: Path, registry: Registry) -> TrainRequest:
    """A new model that names no preset gets its plugin's default one (sae: quick128); a resumed model
    keeps the preset it was made with."""
    if request.preset is not None or has_checkpoint(folder):
        return request
    return dataclasses.replace(request, preset=registry.load("model", request.plugin).DEFAULT_PRESET)


def _resolve_model(request: TrainRequest, folder: Path, registry: Registry):
    """(plugin class, options, checkpoint or None) for a new or a resumed model."""
    if has_checkpoint(folder):
        stored = read_model_info(folder)
        if stored.get("kind") == "masker":
            raise ModelError(f"model '{folder.name}' is a mask model ('faceswap mask train' made it), "
                             f"not a face model: choose another --name")
        if stored["plugin"] != request.plugin:
            raise ModelError(f"model '{folder.name}' is a '{stored['plugin']}' model, not '{request.plugin}': "
                             f"use --model {stored['plugin']} or another --name")
        plugin_cls = registry.load("model", request.plugin)
        asked = {**(plugin_cls.PRESETS.get(request.preset, {}) if request.preset else {}), **request.model_options}
        options = build_options(plugin_cls.Options, {**stored["options"], **asked}, f"model '{request.plugin}'")
        _check_locked(plugin_cls, stored["options"], options, folder.name)
        return plugin_cls, options, load_checkpoint(folder)
    plugin_cls = registry.load("model", request.plugin)
    presets = plugin_cls.PRESETS
    if request.preset and request.preset not in presets:
        raise ModelError(f"model '{request.plugin}' has no preset '{request.preset}'; "
                         f"presets: {', '.join(presets) or 'none'}")
    values = {**presets.get(request.preset, {}), **request.model_options}
    return plugin_cls, build_options(plugin_cls.Options, values, f"model '{request.plugin}'"), None


def _optimizer_name(asked: str | None, checkpoint: Any, folder: Path) -> str:
    """The optimiser of a new model (asked or the default), or the one a resumed model was trained with."""
    if checkpoint is None:
        return asked or DEFAULT_OPTIMIZER
    stored = checkpoint.model_info.get("optimizer", "adamw")
    if asked and asked != stored:
        raise ModelError(f"model '{folder.name}' was trained with --optimizer {stored}; resume it with that one, "
                         f"or start a new model with --name NEW")
    return stored


def _check_locked(plugin_cls: type, stored: Mapping[str, Any], options: Any, name: str) -> None:
    current = options_to_dict(options)
    for row in describe(plugin_cls.Options):
        if row.spec.locked and row.name in stored and stored[row.name] != current[row.name]:
            raise ModelError(
                f"option '{row.name}' is locked for model '{name}' (trained with {stored[row.name]}, "
                f"asked for {current[row.name]}): start a new model with --name NEW"
            )


def _face_paths(workspace: Workspace, names: tuple[str, ...]) -> list[Path]:
    """Face files of face sets, or of one person of a set (``SET:PERSON``)."""
    paths: list[Path] = []
    for name in names:
        found = faces_of(workspace, name)
        if not found:
            raise FaceSetError(f"face set '{name}' holds no faces")
        paths += found
    return paths


def _check_sample_mask(workspace: Workspace, name: str | None, facesets: tuple[str, ...]) -> None:
    """-O sample.mask=NAME must name a mask the faces hold (checked on each set's first face)."""
    if not name:
        return
    for faceset in dict.fromkeys(facesets):
        record = read_record(FaceSet(workspace.faceset_dir(faceset)).face_paths()[0])
        if name not in record.masks:
            raise FaceSetError(f"face set '{faceset}' has no '{name}' mask (its faces have {', '.join(record.masks)}): "
                               f"run 'faceswap mask apply {faceset} --masker {name}', or choose another -O sample.mask")


def warn_degenerate_input(workspace: Workspace, request: TrainRequest, two_people: bool) -> None:
    """Warn about face sets that cannot teach a swap: too few faces, or one person on both sides."""
    if request.pretrain:
        return                  # a prior pools many people's sets; a small one among them is fine
    for name in dict.fromkeys((*request.src, *request.dst)):
        count = len(faces_of(workspace, name))
        if count < FEW_FACES:
            log.warning("face set '%s' holds only %d face%s: the model can only learn %s by heart and will not "
                        "swap other angles or expressions; extract more (a longer clip, or a smaller --every)",
                        name, count, "" if count == 1 else "s", "it" if count == 1 else "them")
    if not two_people:
        return                  # a one-decoder model learns one set of faces by design
    shared = [name for name in request.src if name in request.dst]
    if shared:
        log.warning("src and dst both use face set %s: the model learns one person on both sides and merge would "
                    "swap that person for themself; give --src and --dst the sets of two people",
                    ", ".join(f"'{n}'" for n in shared))
        return
    sources = {name: _source_digest(workspace, name) for name in (*request.src, *request.dst)}
    for a in request.src:
        for b in request.dst:
            if sources[a] and sources[a] == sources[b]:
                log.warning("face sets '%s' (src) and '%s' (dst) were extracted from the same file: the model learns "
                            "one person on both sides", a, b)


def _source_digest(workspace: Workspace, name: str) -> str:
    if split_spec(workspace, name)[1] is not None:
        return ""           # two people of one video are two people
    try:
        return FaceSet(workspace.faceset_dir(name)).read_manifest().source_sha256
    except FaceSetError:
        return ""


def preview_faces(src: list[Path], dst: list[Path], config: SampleConfig, count: int = 4):
    """Evenly spaced faces of each side, cropped like training samples but not augmented."""
    plain = dataclasses.replace(config, rotation=0, scale=0, shift=0, flip=False, warp=0, colour=0,
                                blur_out_mask=False)

    reader = FaceReader(plain)

    def side(paths: list[Path]) -> torch.Tensor:
        picks = np.linspace(0, len(paths) - 1, min(count, len(paths))).astype(int)
        faces = [reader.first_readable(paths, int(i)) for i in picks]    # a deleted face: the next one
        rng = np.random.default_rng(0)
        return torch.from_numpy(np.stack([make_sample(face, plain, rng)["target"] for face in faces]))

    return side(src), side(dst)


def _deep_losses(config: LossConfig, options: Any, device: Device):
    """The frozen perceptual and identity networks, when their weights are above zero."""
    perceptual = identity = None
    if config.lpips_weight > 0:
        from faceswap.train.perceptual import STLPIPS
        perceptual = STLPIPS(config.lpips_net).to(device.torch_device)
    if config.identity_weight > 0:
        from faceswap.train.identity_loss import IdentityLoss
        identity = IdentityLoss(options.resolution, options.coverage).to(device.torch_device)
    return perceptual, identity


def _distributed(device: Device) -> tuple[int, int]:
    """(rank, world size); starts the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.is_cuda else "gloo")
    if device.is_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return dist.get_rank(), world


def _model_info(plugin_cls: type, options: Any, request: TrainRequest, folder: Path) -> dict[str, Any]:
    return {
        "plugin": plugin_cls.name, "plugin_version": plugin_cls.version, "api_version": API_VERSION,
        "options": options_to_dict(options), "facesets": {"src": list(request.src), "dst": list(request.dst)},
        "faceswap_version": __version__, "name": folder.name, "pretrain": request.pretrain,
    }
