"""``faceswap train``: thin: parse options, call the library, report."""
from __future__ import annotations

import click
from tqdm import tqdm

from faceswap.cli.context import AppContext
from faceswap.cli.run_options import run_options
from faceswap.errors import InputError
from faceswap.options import parse_overrides
from faceswap.train.loop import TrainSettings
from faceswap.train.optimizers import DEFAULT_OPTIMIZER, OPTIMIZERS
from faceswap.train.session import TrainRequest, model_lock, prepare_training

TRAIN_KINDS = ("model", "loss", "sample")


@click.command("train")
@click.option("--model", "plugin", default="sae", show_default=True, help="Model plugin to train (see 'faceswap plugins').")
@click.option("--name", help="Model folder in <workspace>/models/ [default: the model plugin's name]. "
                             "An existing model resumes where it stopped.")
@click.option("--src", multiple=True, default=("src",), show_default=True,
              help="Face set(s) of the source person, whose face is put in; repeat for several. "
                   "SET:NAME takes one named person of a set ('faceswap people').")
@click.option("--dst", multiple=True, default=("dst",), show_default=True,
              help="Face set(s) of the destination person, whose face is replaced; repeat for several "
                   "(SET:NAME as for --src).")
@click.option("--faces", multiple=True, help="Face set(s) for a one-decoder model (vae), or for --pretrain, instead "
                                             "of --src/--dst; repeat for several.")
@click.option("--pretrain", is_flag=True, help="Train a face prior on the --faces sets of many people: every decoder "
                                               "learns every face. New models can start from it with --init.")
@click.option("--init", "init", default="auto", show_default=True,
              help="How a NEW model starts: 'auto' (the shipped face prior of the preset when the options fit), "
                   "'none' (from scratch), or a prior: a model folder name or path, or a prior .safetensors file.")
@click.option("--preset", help="Named option set of the model for a new model, e.g. 'quick' (CPU) or 'full' (GPU; "
                                "for sae: DeepFaceLab SAEHD's liae-ud defaults, with its learning rate, optimiser "
                                "and loss weights).")
@click.option("-O", "--option", "overrides", multiple=True, metavar="KIND.KEY=VALUE",
              help="Model, loss or sample option, e.g. -O model.ae_dims=256, -O loss.lpips_weight=0.5, "
                   "-O sample.flip=false; repeatable. 'faceswap plugins show model sae' lists model options.")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True, help="Faces per identity per step.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True),
              help="Learning rate of the optimiser [default: the preset's own (full: 5e-5, as DeepFaceLab's SAEHD), "
                   "else 5e-4 for models of up to 128 px such as the quick presets and 5e-5 above].")
@click.option("--lr-schedule", type=click.Choice(["constant", "cosine"]), default="constant", show_default=True,
              help="cosine: warm up, then decay towards 10% at --iters.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS),
              help=f"Optimiser of a new model [default: the preset's own (full: adabelief), else {DEFAULT_OPTIMIZER}]; "
                   "a resumed model keeps its own.")
@click.option("--lr-dropout", type=click.FloatRange(0, 0.9), default=0.0, show_default=True,
              help="Learning-rate dropout: the chance that a weight skips a step's update (DeepFaceLab uses 0.3 "
                   "late in training).")
@click.option("--clip-grad", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Clip the gradient norm to this (0: no clipping).")
@run_options(preview="a preview grid")
@click.option("--no-amp", is_flag=True, help="Train in full precision on CUDA (mixed precision is the default there).")
@click.pass_obj
def train_command(app: AppContext, plugin: str, name: str | None, src: tuple[str, ...], dst: tuple[str, ...],
                  faces: tuple[str, ...], pretrain: bool, init: str, preset: str | None, overrides: tuple[str, ...],
                  batch: int, lr: float | None, lr_schedule: str, optimizer: str | None, lr_dropout: float, clip_grad: float, iters: int, minutes: float, preview_every: int, save_minutes: float,
                  backups: int, workers: int, seed: int | None, no_amp: bool) -> None:
    """Train a face model on two face sets (default: 'src' and 'dst').

    Learns to rebuild both people's faces with one shared encoder, so that merge can
    decode the destination's faces as the source person. Runs until --iters, --minutes
    or Ctrl-C; run it again to resume.
    """
    options = parse_overrides(overrides, TRAIN_KINDS)
    if pretrain and not faces:
        raise InputError("--pretrain learns a face prior from many people: name their face sets with --faces")
    if faces:
        if app.registry.load("model", plugin).decoder_count > 1 and not pretrain:
            raise InputError(f"--faces is for one-decoder models such as vae (or --pretrain); '{plugin}' learns "
                             f"two people: use --src and --dst")
        src = dst = faces
    if pretrain and name is None:
        name = f"{plugin}-prior"
    toml_model = app.plugin_options({"model": [plugin]}, ())["model"][plugin]
    request = TrainRequest(
        plugin=plugin, name=name, src=src, dst=dst, preset=preset,
        model_options={**toml_model, **options.get("model", {})},
        loss_options=options.get("loss", {}), sample_options=options.get("sample", {}),
        settings=TrainSettings(batch=batch, lr=lr, lr_schedule=lr_schedule, clip_grad=clip_grad, iters=iters,
                               minutes=minutes, amp=not no_amp, optimizer=optimizer, lr_dropout=lr_dropout),
        seed=seed, preview_every=preview_every, save_minutes=save_minutes, backups=backups, workers=workers,
        init=init, pretrain=pretrain,
    )
    app.workspace.ensure(app.workspace.models)
    with model_lock(app.workspace, request):
        prepared = prepare_training(request, app.workspace, app.registry, app.device())
        if prepared.note:
            click.echo(prepared.note)
        start = prepared.start_iteration
        with tqdm(initial=start, total=iters or None, unit="it", desc=f"train {prepared.folder.name}",
                  dynamic_ncols=True) as bar:
            summary = prepared.train(progress=bar)
    losses = ", ".join(f"{k} {v:.4f}" for k, v in summary.last_losses.items() if k != "iteration")
    click.echo(f"trained iterations {summary.start_iteration}..{summary.iteration} (stopped: {summary.stop_reason}); "
               f"saved to {summary.folder}" + (f"; last losses: {losses}" if losses else ""))
