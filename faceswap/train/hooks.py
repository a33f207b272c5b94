"""Side jobs of the training loop: progress, loss log, previews, checkpoints."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from faceswap.media.image import write_image
from faceswap.runtime.progress import Progress
from faceswap.train.loop import Hook, TrainingRun
from faceswap.train.preview import loss_plot, preview_grid

log = logging.getLogger(__name__)

HISTORY_KEEP = 200


class ProgressHook(Hook):
    """Advance a progress bar with iteration speed and both losses (or the total, for a run
    that trains no swap model)."""

    what = "the progress display"

    def __init__(self, bar: Progress, samples_per_item: int = 2) -> None:
        self.bar = bar
        self.last = time.perf_counter()
        self.rate = 0.0
        self.samples_per_item = samples_per_item      # a swap model's batch item is a src and a dst face

    def after_step(self, run: TrainingRun, losses: dict[str, float]) -> None:
        now = time.perf_counter()
        step_rate = 1.0 / max(now - self.last, 1e-9)
        self.rate = step_rate if self.rate == 0 else 0.9 * self.rate + 0.1 * step_rate
        self.last = now
        shown = {side: f"{sum(v for k, v in losses.items() if k.startswith(side + '_')):.4f}"
                 for side in ("src", "dst") if any(k.startswith(side + "_") for k in losses)}
        self.bar.update(1)
        self.bar.set_postfix(iter=run.state.iteration, **(shown or {"loss": f"{losses['total']:.4f}"}),
                             samples_s=f"{self.rate * run.settings.batch * self.samples_per_item:.1f}", refresh=False)


class LossLogHook(Hook):
    """Append every step's losses (and learning rate) to loss.jsonl; keep a recent history of the losses in the
    trainer state."""

    what = "the loss log"

    def __init__(self, folder: Path) -> None:
        self.path = folder / "loss.jsonl"

    def after_step(self, run: TrainingRun, losses: dict[str, float]) -> None:
        entry = {"iteration": run.state.iteration, **{k: round(v, 6) for k, v in losses.items()}}
        run.state.losses.append(entry)
        del run.state.losses[:-HISTORY_KEEP]
        if run.is_main:     # the file also says the learning rate the step used (a decaying run's schedule)
            logged = {**entry, "lr": float(f"{run.optimizer.param_groups[0]['lr']:.4g}")}
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(logged) + "\n")


class PreviewHook(Hook):
    """Every N iterations: previews/iter_NNNNNNN.png and loss.png.

    ``render(model, *faces)`` draws the grid: by default a swap model's (src, rebuilt, dst,
    rebuilt, swapped); ``plot_keys`` are the loss-name prefixes plotted.
    """

    what = "the preview"

    def __init__(self, folder: Path, every: int, faces: Callable[[], tuple[torch.Tensor, ...]],
                 render: Callable[..., np.ndarray] = preview_grid, plot_keys: tuple[str, ...] = ("src", "dst")) -> None:
        self.folder = folder / "previews"
        self.plot = folder / "loss.png"
        self.every = every
        self.faces = faces
        self.render = render
        self.plot_keys = plot_keys
        self._cached: tuple[torch.Tensor, ...] | None = None

    def after_step(self, run: TrainingRun, losses: dict[str, float]) -> None:
        if run.is_main and self.every and run.state.iteration % self.every == 0:
            self.write(run)

    def on_stop(self, run: TrainingRun) -> None:
        if run.is_main and run.state.iteration and self.every:
            self.write(run)

    def write(self, run: TrainingRun) -> Path:
        if self._cached is None:
            self._cached = tuple(t.to(run.device) for t in self.faces())
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"iter_{run.state.iteration:07d}.png"
        write_image(path, self.render(run.model, *self._cached))
        if len(run.state.losses) > 1:
            write_image(self.plot, loss_plot(run.state.losses, self.plot_keys))
        return path


class CheckpointHook(Hook):
    """Save every N minutes and when training stops (Ctrl-C included)."""

    essential = True

    def __init__(self, save: Callable[[TrainingRun], None], every_minutes: float) -> None:
        self.save = save
        self.every = every_minutes * 60
        self.last_save = time.monotonic()
        self.saved_at = -1

    def on_start(self, run: TrainingRun) -> None:
        self.last_save = time.monotonic()
        self.saved_at = run.state.iteration

    def after_step(self, run: TrainingRun, losses: dict[str, float]) -> None:
        if self.every and time.monotonic() - self.last_save >= self.every:
            self._save(run)

    def on_stop(self, run: TrainingRun) -> None:
        if run.damaged:
            log.warning("not saving: a step failed half-way through updating the weights; the checkpoint of "
                        "iteration %d stays the latest", self.saved_at)
            return
        if run.state.iteration != self.saved_at:
            self._save(run)

    def _save(self, run: TrainingRun) -> None:
        if run.is_main:
            self.save(run)
        self.saved_at = run.state.iteration
        self.last_save = time.monotonic()
