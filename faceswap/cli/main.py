"""The ``faceswap`` command group and the one place that turns errors into messages.

A FaceswapError is a problem the user can fix: ``error: <message>``, exit 1. Anything
else is a bug: a one-line notice, the traceback in ``<workspace>/logs/``, exit 2
(the traceback goes to the terminal too with --verbose).
"""
from __future__ import annotations

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


class FaceswapGroup(click.Group):
    """A click group whose commands report errors the faceswap way."""

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


@click.group(cls=FaceswapGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def _register_commands() -> None:
    from faceswap.cli.export import export_command
    from faceswap.cli.extract import extract_command
    from faceswap.cli.latent import attribute_command, generate_command, morph_command
    from faceswap.cli.mask import mask_command
    from faceswap.cli.merge import merge_command
    from faceswap.cli.plugins import plugins_command
    from faceswap.cli.score import score_command
    from faceswap.cli.train import train_command

    cli.add_command(extract_command)
    cli.add_command(merge_command)
    cli.add_command(mask_command)
    cli.add_command(export_command)
    cli.add_command(plugins_command)
    cli.add_command(score_command)
    cli.add_command(train_command)
    cli.add_command(morph_command)
    cli.add_command(generate_command)
    cli.add_command(attribute_command)


_register_commands()
