"""``faceswap mask``: label faces, train a segmentation masker, apply a masker to face sets. Thin."""
from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from faceswap.cli.context import AppContext
from faceswap.cli.run_options import run_options
from faceswap.errors import FaceSetError, InputError
from faceswap.faceset.schema import Producer
from faceswap.faceset.store import FaceSet
from faceswap.locking import exclusive_lock
from faceswap.options import options_to_dict, parse_overrides
from faceswap.segment.apply import apply_masker
from faceswap.segment.labels import import_labels, read_label_file
from faceswap.segment.session import MaskTrainRequest, check_init, prepare_mask_training
from faceswap.train.checkpoint import remove_leftovers
from faceswap.train.loop import TrainSettings


@click.group("mask")
def mask_command() -> None:
    """Occlusion-aware masks: import label polygons, train a segmentation masker, apply it.

    The 'segment' masker ships with a generic model; 'faceswap mask apply SET' adds its masks
    to an extracted face set, 'faceswap mask label' imports your polygons and 'faceswap mask
    train' fine-tunes the model on them (XSeg style).
    """


@mask_command.command("train")
@click.option("--faces", multiple=True, required=True, help="Face set(s) to learn from; repeat for several.")
@click.option("--name", default="segment", show_default=True,
              help="Mask model folder in <workspace>/models/; an existing one resumes where it stopped.")
@click.option("--init", default="generic", show_default=True, callback=lambda c, p, v: check_init(v),
              help="Weights a new model starts from: generic (the model shipped with the 'segment' masker), "
                   "none (random), or the name of another mask model in <workspace>/models/.")
@click.option("--synthetic", is_flag=True,
              help="Learn from every face, with the landmark face region as the truth and synthetic occluders "
                   "pasted over it (how the generic model is made), instead of from your label polygons.")
@click.option("--resolution", type=click.IntRange(64, 512), default=128, show_default=True,
              help="Side of the crop the net sees (with --init none; otherwise the initial model's).")
@click.option("--textures", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of images without faces to cut occluder textures from (besides scikit-image's photos).")
@click.option("-O", "--option", "overrides", multiple=True, metavar="sample.KEY=VALUE",
              help="Sample option, e.g. -O sample.occlude=0.9 -O sample.hand=0.5 (see faceswap/segment/samples.py), "
                   "or a net change for a new model, e.g. -O net.fine=16 -O net.limit=true (see NetOptions in "
                   "faceswap/segment/session.py).")
@click.option("--occluder-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Extra loss weight on face pixels an occluder covers (0: the face region's weight alone).")
@click.option("--batch", type=click.IntRange(min=1), default=16, show_default=True, help="Faces per step.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=5e-4, show_default=True,
              help="AdamW learning rate.")
@click.option("--lr-schedule", type=click.Choice(["constant", "cosine"]), default="constant", show_default=True,
              help="cosine: warm up, then decay towards 10% at --iters (given only --minutes: at the end of the time).")
@run_options(preview="face | truth | predicted")
@click.pass_obj
def train_command(app: AppContext, faces: tuple[str, ...], name: str, init: str, synthetic: bool, resolution: int,
                  textures: tuple[Path, ...], overrides: tuple[str, ...], occluder_weight: float, batch: int, lr: float, lr_schedule: str,
                  iters: int, minutes: float, preview_every: int, save_minutes: float, backups: int, workers: int,
                  seed: int | None) -> None:
    """Train (or fine-tune) the segmentation masker on face sets.

    Without --synthetic it learns from the faces that carry label polygons ('faceswap mask
    label'), with synthetic occluders pasted over some of them. Runs until --iters, --minutes
    or Ctrl-C; run it again to resume. Then 'faceswap mask apply SET --model NAME'.
    """
    options = parse_overrides(overrides, ("sample", "net"))
    request = MaskTrainRequest(
        faces=faces, name=name, synthetic=synthetic, init=init, resolution=resolution,
        sample_options=options.get("sample", {}), textures=textures, seed=seed,
        net_options=options.get("net", {}), occluder_weight=occluder_weight,
        settings=TrainSettings(batch=batch, lr=lr, lr_schedule=lr_schedule, iters=iters, minutes=minutes),
        preview_every=preview_every, save_minutes=save_minutes, backups=backups, workers=workers)
    app.workspace.ensure(app.workspace.models)
    folder = app.workspace.model_dir(name)
    with exclusive_lock(folder, f"model {folder}"):
        remove_leftovers(folder)
        prepared = prepare_mask_training(request, app.workspace, app.registry, app.device())
        with tqdm(initial=prepared.start_iteration, total=iters or None, unit="it", desc=f"mask train {name}",
                  dynamic_ncols=True) as bar:
            summary = prepared.train(progress=bar)
    losses = ", ".join(f"{k} {v:.4f}" for k, v in summary.last_losses.items() if k != "iteration")
    click.echo(f"trained iterations {summary.start_iteration}..{summary.iteration} (stopped: {summary.stop_reason}); "
               f"saved to {summary.folder}" + (f"; last losses: {losses}" if losses else ""))


@mask_command.command("apply")
@click.argument("facesets", nargs=-1, required=True)
@click.option("--masker", default="segment", show_default=True, help="Masker plugin to run (see 'faceswap plugins').")
@click.option("--model", "model_name", help="A mask model in <workspace>/models/ trained with 'faceswap mask train' "
                                            "[default: the masker's shipped generic model].")
@click.option("--as", "stored_name", help="Name the mask is stored under in each face [default: the masker's name]; "
                                          "a mask of that name is replaced.")
@click.option("-O", "--option", "overrides", multiple=True, metavar="masker.KEY=VALUE",
              help="Masker option, e.g. -O masker.batch=64; repeatable.")
@click.option("--batch", type=click.IntRange(min=1), default=64, show_default=True, help="Faces read per batch.")
@click.pass_obj
def apply_command(app: AppContext, facesets: tuple[str, ...], masker: str, model_name: str | None,
                  stored_name: str | None, overrides: tuple[str, ...], batch: int) -> None:
    """Add a masker's mask to every face of FACESETS, without extracting again.

    E.g. 'faceswap mask apply dst' stores the 'segment' mask beside the extraction's masks, for
    'faceswap merge --mask segment' and 'faceswap train -O sample.mask=segment'.
    """
    sets = [FaceSet(app.workspace.faceset_dir(name)) for name in facesets]
    for name, faceset in zip(facesets, sets):
        if not faceset.exists():
            raise FaceSetError(f"no face set '{name}' in {app.workspace.facesets} (run faceswap extract first)")
    options = app.plugin_options({"masker": [masker]}, overrides)["masker"][masker]
    if model_name:
        folder = app.workspace.model_dir(model_name)
        if not folder.is_dir():
            raise InputError(f"--model {model_name}: no mask model at {folder} (train one with 'faceswap mask train')")
        options["model"] = str(folder.resolve())
    plugin = app.registry.create("masker", masker, options, app.device())
    producer = Producer(plugin.kind, plugin.name, plugin.version, options_to_dict(plugin.options))
    for name, faceset in zip(facesets, sets):
        with tqdm(total=len(faceset), unit="face", desc=f"mask {name}", dynamic_ncols=True) as bar:
            summary = apply_masker(faceset, plugin, producer, stored_name or masker, batch=batch, progress=bar)
        rate = summary.faces / summary.seconds if summary.seconds else 0.0
        click.echo(f"face set {name}: '{stored_name or masker}' mask written to {summary.faces} faces "
                   f"({summary.seconds:.1f} s, {rate:.0f} faces/s)")


@mask_command.command("label")
@click.argument("faceset")
@click.argument("labels", type=click.Path(path_type=Path))
@click.option("--append", is_flag=True, help="Add the polygons to a face's labels instead of replacing them.")
@click.pass_obj
def label_command(app: AppContext, faceset: str, labels: Path, append: bool) -> None:
    """Import mask label polygons from LABELS (.json or .csv) into the faces of FACESET.

    Polygons are 'include' (face) or 'exclude' (not face: a hand, a microphone), in the pixels
    of the stored face crop, and apply in order. JSON: {"size": 256, "faces": {"000120_00.png":
    [{"kind": "include", "points": [[x, y], ...]}, ...]}}; CSV columns: face,polygon,kind,x,y
    (one row per point). Then 'faceswap mask train --faces FACESET'.
    """
    target = FaceSet(app.workspace.faceset_dir(faceset))
    if not target.exists():
        raise FaceSetError(f"no face set '{faceset}' in {app.workspace.facesets} (run faceswap extract first)")
    found, size = read_label_file(labels)
    changed = import_labels(target, found, size, append)
    polygons = sum(len(p) for p in found.values())
    click.echo(f"{polygons} polygons imported into {changed} faces of face set {faceset}")
