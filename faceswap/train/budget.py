"""Where a time-budgeted run's learning-rate decay ends, planned from the run's own speed.

``--lr-schedule cosine`` decays over ``--iters``; ``auto`` (the default) decays only a run given
``--minutes`` and no ``--iters`` (an iteration target is often raised later, which would restart
a decay; a time budget ends where the user chose). A run given only ``--minutes`` has no iteration
count to decay over, so it plans one: after its first PROBE_STEPS steps, and again every
REPLAN_STEPS, it counts the iterations the time left holds at its mean speed so far, and the decay
ends there (the rate then stays at its floor). A busy machine moves the end, never the decay back:
a new plan cannot lower the progress already made. A resumed run plans a new decay over its own
budget, so only an ``--iters`` run resumes bit-exactly with a cosine schedule.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:       # loop.py uses this module
    from faceswap.train.loop import TrainSettings

log = logging.getLogger(__name__)

PROBE_STEPS = 30        # steps timed before the first plan (the first step, slower, is not counted)
REPLAN_STEPS = 50       # steps between plans


def schedule_of(settings: TrainSettings) -> str:
    """"constant" or "cosine": what the settings' schedule means for this run ("auto" resolved)."""
    if settings.lr_schedule != "auto":
        return settings.lr_schedule
    return "cosine" if settings.minutes > 0 and not settings.iters else "constant"


def needs_plan(settings: TrainSettings) -> bool:
    """True for a decaying schedule with a time budget and no iteration target."""
    return schedule_of(settings) == "cosine" and not settings.iters and settings.minutes > 0


@dataclasses.dataclass
class BudgetPlan:
    """Times the steps of a run that started at ``started`` (time.monotonic) at ``start_iteration``."""

    start_iteration: int
    started: float
    minutes: float
    first_step_done: float | None = None
    progress: float = 0.0           # of the decay, at the last plan

    def after_step(self, settings: TrainSettings, iteration: int, now: float) -> TrainSettings:
        """``settings``, with the decay's span when a plan is due."""
        done = iteration - self.start_iteration
        if done == 1:
            self.first_step_done = now
        if self.first_step_done is None or done <= PROBE_STEPS or (done - PROBE_STEPS - 1) % REPLAN_STEPS:
            return settings
        per_second = (done - 1) / max(now - self.first_step_done, 1e-6)
        seconds_left = max(0.0, self.minutes * 60 - (now - self.started))
        end = iteration + int(per_second * seconds_left)
        if self.progress > 0:           # never back up the decay: at most the end that keeps its progress
            end = min(end, self.start_iteration + int(done / self.progress))
        end = _agreed(max(end, iteration + 1))
        self.progress = done / (end - self.start_iteration)
        if settings.schedule_span is None:
            log.info("learning-rate decay planned to end at iteration %d (%.2f it/s, %.0f s left)", end,
                     per_second, seconds_left)
        return dataclasses.replace(settings, schedule_span=(self.start_iteration, end))


def _agreed(end: int) -> int:
    """Rank 0's plan on every rank of a distributed run (each would time itself differently)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return end
    value = torch.tensor([end], dtype=torch.int64)
    if torch.distributed.get_backend() == "nccl":
        value = value.cuda()
    torch.distributed.broadcast(value, src=0)
    return int(value.item())
