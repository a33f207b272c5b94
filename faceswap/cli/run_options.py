"""The options every training command shares: how long to run, previews, saves, workers, seed."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable)


def run_options(preview: str, auto_workers: bool = False) -> Callable[[F], F]:
    """--iters, --minutes, --preview-every (``preview`` says what a preview shows), --save-minutes,
    --backups, --workers and --seed, in that order. ``auto_workers``: --workers defaults to None
    (the command picks them for the cores at hand)."""
    workers_help = "Processes preparing training samples (0: in the training process)."
    if auto_workers:
        workers_help += (" [default: for the cores this process may use: 0 on 1 core, 1 from 2 cores on "
                         "(from 3 cores on, one core is left for it), up to 4 with a CUDA GPU]")
    options = [
        click.option("--iters", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Stop when the model has trained this many iterations in total (0: no limit)."),
        click.option("--minutes", type=click.FloatRange(min=0), default=0.0, show_default=True,
                     help="Stop after this many minutes (0: no limit). Ctrl-C also stops, after saving."),
        click.option("--preview-every", type=click.IntRange(min=0), default=100, show_default=True,
                     help=f"Write {preview} to models/<name>/previews/ every N iterations (0: only at the end)."),
        click.option("--save-minutes", type=click.FloatRange(min=0), default=10.0, show_default=True,
                     help="Save a checkpoint every N minutes (and always when training stops)."),
        click.option("--backups", type=click.IntRange(min=1), default=3, show_default=True,
                     help="Keep this many earlier checkpoints in models/<name>/backups/."),
        click.option("--workers", type=click.IntRange(min=0), default=None if auto_workers else 1,
                     show_default=not auto_workers, help=workers_help),
        click.option("--seed", type=int, help="Random seed of a new model (default: random; stored for resume)."),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command
    return decorate
