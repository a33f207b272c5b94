"""``faceswap export``: thin: a trained model's swap path as ONNX."""
from __future__ import annotations

import shutil
from pathlib import Path

import click

from faceswap.cli.context import AppContext
from faceswap.errors import InputError
from faceswap.locking import exclusive_lock
from faceswap.merge.onnx_swap import current_weights_sha256, export_swap
from faceswap.runtime.device import resolve_device
from faceswap.trained import load_trained_model


@click.command("export")
@click.argument("model_name", metavar="MODEL", default="sae")
@click.option("--onnx", "as_onnx", is_flag=True, help="Write the swap path (encode, decode as the source person) as "
                                                      "ONNX: models/MODEL/swap.onnx, which merge can run.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also copy the exported file here.")
@click.pass_obj
def export_command(app: AppContext, model_name: str, as_onnx: bool, output: Path | None) -> None:
    """Export a trained model (default 'sae') for other runtimes.

    The ONNX file takes faces (N, 3, R, R) float32 in [0, 1] cropped like the model's own
    crops and returns (rgb, mask); merge uses it with --engine onnx (or auto, when faster).
    """
    if not as_onnx:
        raise InputError("say what to export: --onnx")
    folder = app.workspace.model_dir(model_name)
    with exclusive_lock(folder, f"model {folder}"):
        model, _ = load_trained_model(folder, app.registry, resolve_device("cpu", app.threads))
        path, difference = export_swap(model, folder, current_weights_sha256(folder))
    if output is not None:
        shutil.copyfile(path, output)
    click.echo(f"{path} ({path.stat().st_size / 1e6:.1f} MB; largest difference from torch {difference:.1g})"
               + (f", copied to {output}" if output else ""))
