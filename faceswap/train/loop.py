"""The training loop, readable top to bottom; side jobs (progress, previews, saving) are hooks."""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from faceswap.train.adversarial import DISCRIMINATOR_PREFIX
from faceswap.train.checkpoint import TrainerState
from faceswap.train.optimizers import UpdateDropout
from faceswap.train.step import to_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """How long and how fast to train (not saved as part of the model)."""

    batch: int = 8
    lr: float | None = None           # None: default_learning_rate of the model's resolution
    lr_schedule: str = "constant"     # or "cosine": warm-up then cosine decay to 10% at `iters`
    warmup: int = 100
    clip_grad: float = 1.0            # 0 = no clipping
    iters: int = 0                    # stop when the model has trained this many iterations (0: no limit)
    minutes: float = 0.0              # stop after this many minutes of this run (0: no limit)
    amp: bool = True                  # mixed precision on CUDA (ignored on CPU)
    optimizer: str | None = None      # adamw or adabelief; None: a resumed model's own, else the default
    lr_dropout: float = 0.0           # chance that one parameter element skips a step's update


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
    for hook in list(hooks):
        if not _call(hook, "on_start", run):
            hooks.remove(hook)
    try:
        while not (reason := _should_stop(run, started)):
            step_started = time.monotonic()
            batch = to_device(next(run.batches), run.device)
            losses = _step(run, batch, scaler)
            run.state.iteration += 1
            run.state.seconds += time.monotonic() - step_started
            for hook in list(hooks):
                if not _call(hook, "after_step", run, losses):
                    hooks.remove(hook)
        run.stop_reason = reason
    except KeyboardInterrupt as exc:
        run.stop_reason = getattr(exc, "reason", "interrupted")
    finally:
        for hook in hooks:          # the checkpoint hook saves here first, whatever ended the loop
            _call(hook, "on_stop", run)
    return run.stop_reason


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


def _step(run: TrainingRun, batch: Any, scaler: torch.amp.GradScaler) -> dict[str, float]:
    settings = run.settings
    for group in run.optimizer.param_groups:
        group["lr"] = learning_rate(settings, run.state.iteration)
    run.step_module.train()
    with torch.autocast(run.device.type, enabled=scaler.is_enabled()):
        terms = run.step_module(batch, run.state.iteration)
    loss = sum(terms.values())      # discriminator terms reach only their own weights (adversarial.py)
    run.optimizer.zero_grad(set_to_none=True)
    if run.adversary_optimizer is not None:
        run.adversary_optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if settings.clip_grad > 0:
        scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), settings.clip_grad)
    with UpdateDropout(run.model.parameters(), settings.lr_dropout, run.state.seed * 1_000_003 + run.state.iteration):
        scaler.step(run.optimizer)
    if run.adversary_optimizer is not None and _has_grads(run.adversary_optimizer):
        scaler.step(run.adversary_optimizer)
    scaler.update()
    losses = {name: float(value.detach()) for name, value in terms.items()}
    model_terms = [value for name, value in terms.items() if not name.startswith(DISCRIMINATOR_PREFIX)]
    losses["total"] = float(sum(model_terms).detach()) if len(model_terms) < len(terms) else float(loss.detach())
    return losses


def _has_grads(optimizer: torch.optim.Optimizer) -> bool:
    """False before a discriminator's first use (the patch GAN waits for gan_start)."""
    return any(p.grad is not None for group in optimizer.param_groups for p in group["params"])


def learning_rate(settings: TrainSettings, iteration: int) -> float:
    """The learning rate at ``iteration`` (a pure function, so resuming needs no scheduler state)."""
    if settings.lr_schedule == "constant":
        return settings.lr
    warm = min(1.0, (iteration + 1) / max(1, settings.warmup))
    if not settings.iters:
        return settings.lr * warm
    progress = min(1.0, iteration / settings.iters)
    return settings.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _should_stop(run: TrainingRun, started: float) -> str:
    settings = run.settings
    if settings.iters and run.state.iteration >= settings.iters:
        return "iterations"
    if settings.minutes and time.monotonic() - started >= settings.minutes * 60:
        return "time"
    return ""
