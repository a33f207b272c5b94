"""The training loop, readable top to bottom; side jobs (progress, previews, saving) are hooks."""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from faceswap.errors import DeviceError
from faceswap.train.adversarial import DISCRIMINATOR_PREFIX
from faceswap.train.budget import BudgetPlan, needs_plan, schedule_of
from faceswap.train.checkpoint import TrainerState
from faceswap.train.fresh_thread import call_in_new_thread
from faceswap.train.memory import BackwardDrain, free_memory, is_out_of_memory, spoils_thread
from faceswap.train.optimizers import UpdateDropout
from faceswap.train.step import to_device

log = logging.getLogger(__name__)


AUTO_BATCH = 0          # --batch auto: the largest batch the device fits (train/memory.py)
DEFAULT_SETTINGS: dict[str, Any] = {"batch": 8, "lr_schedule": "auto", "warmup": 100, "clip_grad": 1.0,
                                    "amp": True, "lr_dropout": 0.0}
AUTO_WARP_UNTIL = 0.7   # a --minutes run's default: plain faces for the last 30% of its decay (README, quality.py)


@dataclass(frozen=True)
class TrainSettings:
    """How long and how fast to train.

    None means "not asked": a resumed model's stored value (train/stored.py), else the default
    (DEFAULT_SETTINGS; ``lr``: default_learning_rate of the model's resolution and schedule).
    """

    batch: int | None = None          # AUTO_BATCH: the largest that fits the device
    lr: float | None = None
    lr_schedule: str | None = None    # "constant"; "cosine": warm-up, then cosine decay to 10% at `iters` (a
    #                                   --minutes run: at the end of its time); "auto": see budget.schedule_of
    warmup: int | None = None
    clip_grad: float | None = None    # 0 = no clipping
    iters: int = 0                    # stop when the model has trained this many iterations (0: no limit)
    minutes: float = 0.0              # stop after this many minutes of this run (0: no limit)
    amp: bool | None = None           # mixed precision on CUDA (ignored on CPU)
    optimizer: str | None = None      # adamw or adabelief; None: a resumed model's own, else the default
    lr_dropout: float | None = None   # chance that one parameter element skips a step's update
    warp_until: float | None = None   # share of the run (its --iters or planned decay) trained on randomly warped
    #                                   inputs; the rest sees the plain faces (DeepFaceLab's random_warp turned off);
    #                                   None: AUTO_WARP_UNTIL for a run whose decay the time budget plans, else 1
    schedule_span: tuple[int, int] | None = None    # a --minutes run's planned decay (train/budget.py)
    lr_by_default: bool = False       # lr neither asked for nor stored: chosen for this run's schedule, stored
    #                                   as unset so that a resume chooses again (stored.resolve_settings)

    def with_defaults(self) -> TrainSettings:
        """These settings with every value not asked for set to its default."""
        return dataclasses.replace(self, **{k: v for k, v in DEFAULT_SETTINGS.items() if getattr(self, k) is None})


@dataclass
class TrainingRun:
    """Everything the loop and its hooks share."""

    model: nn.Module                   # the FaceModel (unwrapped)
    step_module: nn.Module             # AutoencoderStep, maybe wrapped in DistributedDataParallel
    optimizer: torch.optim.Optimizer
    batches: Iterator[Any]
    state: TrainerState
    settings: TrainSettings
    device: torch.device
    is_main: bool = True
    stop_reason: str = ""
    adversary: nn.Module | None = None                          # discriminators (training state, not model)
    adversary_optimizer: torch.optim.Optimizer | None = None
    # batches of a given size from a given sample index: an out-of-memory error halves the batch
    # and goes on (None: it stops training, e.g. under torchrun, where all ranks must agree)
    rebatch: Callable[[int, int], Iterator[Any]] | None = None
    damaged: bool = False             # a step failed half-way through the update: the state is not saved
    stop_request: str = ""            # Ctrl-C or a signal while another thread trains: stop after the step

    def __post_init__(self) -> None:
        self.settings = self.settings.with_defaults()


class Hook:
    """Override what you need; every method gets the run.

    A side job (``essential = False``: previews, logs, progress) that fails is logged and
    dropped for the rest of the run; it never stops training or the save. An essential hook
    (the checkpoint) runs first when training stops, and its errors propagate.
    """

    essential: ClassVar[bool] = False
    what: ClassVar[str] = "a side job"

    def on_start(self, run: TrainingRun) -> None: ...

    def after_step(self, run: TrainingRun, losses: dict[str, float]) -> None: ...

    def on_stop(self, run: TrainingRun) -> None: ...


def train(run: TrainingRun, hooks: Iterable[Hook]) -> str:
    """Train until the iteration target, the time limit, Ctrl-C or SIGTERM/SIGHUP; returns why it stopped."""
    hooks = sorted(hooks, key=lambda hook: not hook.essential)     # saving comes first
    scaler = torch.amp.GradScaler("cuda", enabled=run.settings.amp and run.device.type == "cuda")
    started = time.monotonic()
    if run.state.samples < 0:           # a checkpoint from before samples were counted
        run.state.samples = run.state.iteration * run.settings.batch
    run.state.batch = run.settings.batch
    plan = BudgetPlan(run.state.iteration, started, run.settings.minutes) if needs_plan(run.settings) else None
    for hook in list(hooks):
        if not _call(hook, "on_start", run):
            hooks.remove(hook)

    def here(work: Callable[[], Any]) -> Any:
        return work()

    def elsewhere(work: Callable[[], Any]) -> Any:
        return call_in_new_thread(work, lambda reason: setattr(run, "stop_request", reason))

    where = here
    try:
        while True:
            try:
                run.stop_reason = where(lambda: _steps(run, hooks, scaler, plan, started))
                break
            except _ThreadSpent:
                log.info("oneDNN can build no more kernels in this thread: training goes on in a new one")
                where = elsewhere
    except KeyboardInterrupt as exc:
        run.stop_reason = getattr(exc, "reason", "interrupted")
    finally:
        # the checkpoint hook saves first, whatever ended the loop (previews need a thread that can convolve)
        where(lambda: [_call(hook, "on_stop", run) for hook in hooks])
    return run.stop_reason


class _ThreadSpent(Exception):
    """An out-of-memory error left this thread unable to build CPU convolutions (memory.spoils_thread)."""


def _steps(run: TrainingRun, hooks: list[Hook], scaler: torch.amp.GradScaler, plan: BudgetPlan | None,
           started: float) -> str:
    """Train in this thread until a stop condition; returns it (raises _ThreadSpent to go on elsewhere)."""
    drain = BackwardDrain()             # this thread's, before its first step: see memory.py
    while not (reason := _should_stop(run, started)):
        step_started = time.monotonic()
        losses = _step_fitting(run, scaler, drain)
        run.state.iteration += 1
        run.state.samples += run.settings.batch
        run.state.seconds += time.monotonic() - step_started
        if plan is not None:
            run.settings = plan.after_step(run.settings, run.state.iteration, time.monotonic())
        for hook in list(hooks):
            if not _call(hook, "after_step", run, losses):
                hooks.remove(hook)
    return reason


def _call(hook: Hook, method: str, run: TrainingRun, *args: Any) -> bool:
    """Run one hook method; False when a side job failed (it is logged, training goes on)."""
    if hook.essential:
        getattr(hook, method)(run, *args)
        return True
    try:
        getattr(hook, method)(run, *args)
    except Exception as exc:  # a side job must never cost the run or its checkpoint
        log.warning("%s failed at iteration %d (%s: %s); training goes on without it",
                    hook.what, run.state.iteration, type(exc).__name__, exc)
        return False
    return True


def _step_fitting(run: TrainingRun, scaler: torch.amp.GradScaler, drain: BackwardDrain) -> dict[str, float]:
    """One step; out of memory in its forward or backward pass halves the batch and tries again.

    Those passes change nothing that lasts (gradients are cleared before each backward), so the
    retry starts from the same weights and optimiser state, on the same samples' first half.
    """
    while True:
        batch = to_device(next(run.batches), run.device)
        terms, spent = _forward_backward_fitting(run, batch, scaler)
        if terms is not None:
            break
        del batch
        free_memory(run.device, run.optimizer, run.adversary_optimizer, drain=drain)
        _halve_batch(run)
        if spent:
            raise _ThreadSpent
    try:
        update(run, scaler, run.state.iteration)
    except (RuntimeError, MemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        run.damaged = True      # some weights may have moved and others not: keep the last checkpoint
        raise DeviceError(f"out of memory in the optimiser step at iteration {run.state.iteration} on "
                          f"{run.device.type}: the weights and optimiser state alone do not fit (a smaller batch "
                          f"would not help); the last saved checkpoint is kept: train a smaller model") from exc
    return loss_values(terms)


def _forward_backward_fitting(run: TrainingRun, batch: Any, scaler: torch.amp.GradScaler) -> tuple[dict | None, bool]:
    """The step's loss terms, or None when the batch did not fit and a smaller one can be tried; and
    whether the failure left this thread unable to build CPU convolutions."""
    try:
        return forward_backward(run, batch, scaler, run.state.iteration), False
    except (RuntimeError, MemoryError) as exc:      # torch.OutOfMemoryError is a RuntimeError
        if run.rebatch is None or not is_out_of_memory(exc):
            raise
        spent = spoils_thread(exc)
    return None, spent      # out here the exception, its frames and the activations they held are gone


def _halve_batch(run: TrainingRun) -> None:
    """Go on with half the batch, from the samples the failed step would have used; at 1, stop."""
    batch = run.settings.batch
    if batch <= 1:
        raise DeviceError(f"out of memory even at batch 1 on {run.device.type} at iteration {run.state.iteration} "
                          f"(the training up to it is saved): the model does not fit this device; train a smaller "
                          f"model (e.g. --preset quick or smaller -O model.* sizes) or use a device with more memory")
    half = batch // 2
    log.warning("out of memory at batch %d (iteration %d): going on with batch %d", batch,
                run.state.iteration, half)
    close = getattr(run.batches, "close", None)
    if close is not None:
        close()             # ends the old loader's worker processes
    run.settings = dataclasses.replace(run.settings, batch=half)
    run.state.batch = half
    run.batches = run.rebatch(half, run.state.samples)


def forward_backward(run: TrainingRun, batch: Any, scaler: torch.amp.GradScaler, step: int) -> dict[str, torch.Tensor]:
    """Loss terms of ``batch`` at iteration ``step``, with their gradients in the parameters."""
    settings = run.settings
    for group in run.optimizer.param_groups:
        group["lr"] = learning_rate(settings, step)
    if warp_is_over(settings, step):    # the loader's targets are the same faces without the random warp
        batch = {side: {**data, "input": data["target"]} for side, data in batch.items()}
    run.step_module.train()
    with torch.autocast(run.device.type, enabled=scaler.is_enabled()):
        terms = run.step_module(batch, step)
    loss = sum(terms.values())      # discriminator terms reach only their own weights (adversarial.py)
    run.optimizer.zero_grad(set_to_none=True)
    if run.adversary_optimizer is not None:
        run.adversary_optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    return terms


def update(run: TrainingRun, scaler: torch.amp.GradScaler, step: int) -> None:
    """Clip the gradients and step the optimisers (with learning-rate dropout)."""
    settings = run.settings
    if settings.clip_grad > 0:
        scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), settings.clip_grad)
    with UpdateDropout(run.model.parameters(), settings.lr_dropout, run.state.seed * 1_000_003 + step):
        scaler.step(run.optimizer)
    if run.adversary_optimizer is not None and _has_grads(run.adversary_optimizer):
        scaler.step(run.adversary_optimizer)
    scaler.update()


def loss_values(terms: dict[str, torch.Tensor]) -> dict[str, float]:
    """The terms as floats, plus ``total``: the model's loss (discriminator terms left out)."""
    losses = {name: float(value.detach()) for name, value in terms.items()}
    model_terms = [value for name, value in terms.items() if not name.startswith(DISCRIMINATOR_PREFIX)]
    losses["total"] = float(sum(model_terms).detach()) if len(model_terms) < len(terms) \
        else float(sum(terms.values()).detach())
    return losses


def _has_grads(optimizer: torch.optim.Optimizer) -> bool:
    """False before a discriminator's first use (the patch GAN waits for gan_start)."""
    return any(p.grad is not None for group in optimizer.param_groups for p in group["params"])


def learning_rate(settings: TrainSettings, iteration: int) -> float:
    """The learning rate at ``iteration`` (a pure function, so resuming needs no scheduler state)."""
    if schedule_of(settings) == "constant":
        return settings.lr
    warm = min(1.0, (iteration + 1) / max(1, settings.warmup))
    progress = run_progress(settings, iteration)
    if progress is None:
        return settings.lr * warm
    return settings.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def run_progress(settings: TrainSettings, iteration: int) -> float | None:
    """How far (0..1) ``iteration`` is through the run's span: its --iters, else a --minutes run's planned
    decay (train/budget.py); None without one (e.g. a --minutes run at a constant rate)."""
    start, end = (0, settings.iters) if settings.iters else (settings.schedule_span or (0, 0))
    if end <= start:
        return None
    return min(1.0, max(0.0, (iteration - start) / (end - start)))


def warp_is_over(settings: TrainSettings, iteration: int) -> bool:
    """True once the run is past ``warp_until`` of its span: inputs are then the plain faces."""
    share = settings.warp_until
    if share is None:       # like --lr-schedule auto: an --iters target raised later still resumes exactly
        share = AUTO_WARP_UNTIL if needs_plan(settings) else 1.0
    if share >= 1:
        return False
    progress = run_progress(settings, iteration)
    return progress is not None and progress >= share


def _should_stop(run: TrainingRun, started: float) -> str:
    if run.stop_request:
        return run.stop_request
    settings = run.settings
    if settings.iters and run.state.iteration >= settings.iters:
        return "iterations"
    if settings.minutes and time.monotonic() - started >= settings.minutes * 60:
        return "time"
    return ""
