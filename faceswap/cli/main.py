"""The ``faceswap`` command group and the one place that turns errors into messages.

A FaceswapError is a problem the user can fix: ``error: <message>``, exit 1. Anything
else is a bug: a one-line notice, the traceback in ``<workspace>/logs/``, exit 2
(the traceback goes to the terminal too with --verbose).
"""
from __future__ import annotations

import importlib
import logging
import sys
import time
import traceback
from pathlib import Path

import click

from faceswap import __version__
from faceswap.cli.context import AppContext
from faceswap.errors import FaceswapError
from faceswap.runtime.device import DEVICE_CHOICES, limit_threads
from faceswap.runtime.signals import stop_on_signals
from faceswap.workspace import Workspace, default_workspace


# Every command, imported only when it runs (or is listed): 'faces' and 'people' need no torch,
# whose import alone takes seconds.
COMMANDS = {
    "export": "faceswap.cli.export:export_command",
    "extract": "faceswap.cli.extract:extract_command",
    "faces": "faceswap.cli.faces:faces_command",
    "mask": "faceswap.cli.mask:mask_command",
    "merge": "faceswap.cli.merge:merge_command",
    "people": "faceswap.cli.people:people_command",
    "plugins": "faceswap.cli.plugins:plugins_command",
    "score": "faceswap.cli.score:score_command",
    "train": "faceswap.cli.train:train_command",
    "ui": "faceswap.cli.ui:ui_command",
    "morph": "faceswap.cli.latent:morph_command",
    "generate": "faceswap.cli.latent:generate_command",
    "attribute": "faceswap.cli.latent:attribute_command",
}


class FaceswapGroup(click.Group):
    """A click group whose commands report errors the faceswap way and are imported when first used."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})     # name -> "module:attribute"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy_commands:
            module, attribute = self.lazy_commands[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    @property
    def all_commands(self) -> dict[str, click.Command]:
        """Every command, imported (for tests and documentation)."""
        ctx = click.Context(self)
        return {name: self.get_command(ctx, name) for name in self.list_commands(ctx)}

    def invoke(self, ctx: click.Context):
        try:
            with stop_on_signals():
                return super().invoke(ctx)
        except FaceswapError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: keep the details, show one line
            app = ctx.find_object(AppContext)
            log_path = _write_crash_log(app.workspace if app else default_workspace())
            if app is not None and app.verbose:
                traceback.print_exc()
            where = f"; details in {log_path}" if log_path else ""
            click.echo(f"faceswap hit a bug ({type(exc).__name__}: {exc}){where}", err=True)
            sys.exit(2)


def _write_crash_log(workspace: Workspace) -> Path | None:
    try:
        workspace.logs.mkdir(parents=True, exist_ok=True)
        path = workspace.logs / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
        path.write_text(traceback.format_exc(), encoding="utf-8")
        return path
    except OSError:
        return None


@click.group(cls=FaceswapGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="faceswap")
@click.option("--workspace", "-w", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for face sets, models, output and drop-in plugins "
                   "[default: $FACESWAP_WORKSPACE or ./workspace].")
@click.option("--device", type=click.Choice(DEVICE_CHOICES), default="auto", show_default=True,
              help="Where networks run: a CUDA GPU when one is visible (auto), or force cpu/cuda.")
@click.option("--threads", type=click.IntRange(min=0), default=0, show_default=True,
              help="CPU threads for the networks and image work (0: the runtime's choice, usually all cores).")
@click.option("--verbose", "-v", is_flag=True, help="Log details and show tracebacks of bugs.")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, device: str, threads: int, verbose: bool) -> None:
    """Face-swap toolkit: extract faces, train a model, merge the swap back into a video.

    Swap only faces you have the consent of the people shown to use.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    ws = Workspace(workspace) if workspace is not None else default_workspace()
    limit_threads(threads)
    ctx.obj = AppContext(workspace=ws, device_choice=device, threads=threads, verbose=verbose)
