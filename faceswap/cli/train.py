"""``faceswap train``: thin: parse options, call the library, report."""
from __future__ import annotations

import click
import torch
from tqdm import tqdm

from faceswap.cli.context import AppContext
from faceswap.cli.run_options import run_options
from faceswap.errors import InputError
from faceswap.options import parse_overrides
from faceswap.runtime.cores import asked_threads, busy_load, plan_training, usable_cores
from faceswap.train.autobatch import AUTO_BATCH_MAX, MARGIN
from faceswap.train.loop import AUTO_BATCH, AUTO_WARP_UNTIL, DEFAULT_SETTINGS, TrainSettings
from faceswap.train.optimizers import DEFAULT_OPTIMIZER, OPTIMIZERS
from faceswap.train.session import TrainRequest, model_lock, prepare_training

TRAIN_KINDS = ("model", "loss", "sample")
STORED = "; a resumed model keeps the value it was trained with unless this is given"


class BatchSize(click.ParamType):
    """A positive whole number, or 'auto' (AUTO_BATCH)."""

    name = "N|auto"

    def convert(self, value, param, ctx):  # noqa: ANN001 - click's signature
        if isinstance(value, int) or value == "auto":
            return AUTO_BATCH if value == "auto" else value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"'{value}' is neither a whole number of at least 1 nor 'auto'", param, ctx)
        return number


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
@click.option("--preset", help="Named option set of the model for a new model, e.g. 'quick128' (CPU, 128 px: "
                                "sharper and more alike than quick in 30 minutes), 'quick' (CPU, 64 px, 1.3x the "
                                "samples/s) or 'full' (GPU; for sae: DeepFaceLab SAEHD's liae-ud defaults, with its "
                                "learning rate, optimiser and loss weights) [default: the model's own, sae: quick128; "
                                "a resumed model keeps its own].")
@click.option("-O", "--option", "overrides", multiple=True, metavar="KIND.KEY=VALUE",
              help="Model, loss or sample option, e.g. -O model.ae_dims=256, -O loss.lpips_weight=0.5, "
                   "-O sample.flip=false; repeatable. 'faceswap plugins show model sae' lists model options.")
@click.option("--batch", type=BatchSize(),
              help=f"Faces per identity per step, or 'auto' [default: {DEFAULT_SETTINGS['batch']}{STORED}]. auto on "
                   f"CUDA: the largest batch whose real training steps fit the GPU (doubling up to {AUTO_BATCH_MAX}, "
                   f"then bisecting), less {MARGIN:.0%}; auto on a CPU: 8 at 64 px (the quick preset), 8 x (64/R)^2 "
                   f"for R px faces, at least 2 (the full preset: 2), since a CPU is limited by time per step, not "
                   f"memory. Out of memory during training halves the batch and goes on (stored for resume).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True),
              help="Learning rate of the optimiser [default: the preset's own (full: 5e-5, as DeepFaceLab's SAEHD), "
                   "else for models of up to 128 px such as the quick presets 5e-4, or 1e-3 where the rate decays (a "
                   "cosine schedule, e.g. the default for --minutes), and 5e-5 above; a resumed model keeps a rate "
                   "given before, while a default one is chosen again for the run's schedule].")
@click.option("--lr-schedule", type=click.Choice(["auto", "constant", "cosine"]),
              help="cosine: warm up, then decay towards 10% at --iters (given only --minutes: at the end of the time, "
                   "planned from the run's speed); auto: cosine for a run given --minutes and no --iters, else "
                   f"constant [default: auto{STORED}].")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS),
              help=f"Optimiser of a new model [default: the preset's own (full: adabelief), else {DEFAULT_OPTIMIZER}]; "
                   "a resumed model keeps its own (another one is refused: its moments would not carry over).")
@click.option("--lr-dropout", type=click.FloatRange(0, 0.9),
              help="Learning-rate dropout: the chance that a weight skips a step's update (DeepFaceLab uses 0.3 "
                   f"late in training) [default: 0{STORED}].")
@click.option("--warp-until", type=click.FloatRange(0, 1), metavar="SHARE",
              help="Train on randomly warped inputs for this share of the run (of --iters, or of a --minutes run's "
                   "planned decay), then on the plain faces, as DeepFaceLab users turn random_warp off late for "
                   "detail (measured: more likeness and sharpness in 30 minutes); a --minutes run at a constant rate "
                   f"warps throughout [default: {AUTO_WARP_UNTIL} for a run given --minutes and no --iters (whose "
                   f"decay the time plans), else 1, always; a value given before is kept on resume].")
@click.option("--clip-grad", type=click.FloatRange(min=0),
              help=f"Clip the gradient norm to this (0: no clipping) [default: 1.0{STORED}].")
@run_options(preview="a preview grid", auto_workers=True)
@click.option("--amp/--no-amp", default=None,
              help=f"Mixed precision on CUDA (ignored on a CPU) [default: on{STORED}].")
@click.pass_obj
def train_command(app: AppContext, plugin: str, name: str | None, src: tuple[str, ...], dst: tuple[str, ...],
                  faces: tuple[str, ...], pretrain: bool, init: str, preset: str | None, overrides: tuple[str, ...],
                  batch: int | None, lr: float | None, lr_schedule: str | None, optimizer: str | None,
                  lr_dropout: float | None, warp_until: float | None, clip_grad: float | None, iters: int,
                  minutes: float, preview_every: int, save_minutes: float, backups: int, workers: int | None,
                  seed: int | None, amp: bool | None) -> None:
    """Train a face model on two face sets (default: 'src' and 'dst').

    Learns to rebuild both people's faces with one shared encoder, so that merge can
    decode the destination's faces as the source person. Runs until --iters, --minutes
    or Ctrl-C; run it again to resume.

    The first training stores the loss (-O loss.*) and sample (-O sample.*) options and
    the settings --lr, --lr-schedule, --lr-dropout, --warp-until, --clip-grad, --amp and --batch with
    the model: a resume uses them without repeating them; one given anew replaces the
    stored value (one warning line says so). Starts by saying how many torch threads and
    loader workers it uses for the cores at hand (--threads, --workers override).
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
    device = app.device()
    plan = plan_training(usable_cores(), device.is_cuda, asked_threads(app.threads), workers)
    torch.set_num_threads(plan.threads)
    request = TrainRequest(
        plugin=plugin, name=name, src=src, dst=dst, preset=preset,
        model_options={**toml_model, **options.get("model", {})},
        loss_options=options.get("loss", {}), sample_options=options.get("sample", {}),
        settings=TrainSettings(batch=batch, lr=lr, lr_schedule=lr_schedule, clip_grad=clip_grad, iters=iters,
                               minutes=minutes, amp=amp, optimizer=optimizer, lr_dropout=lr_dropout,
                               warp_until=warp_until),
        seed=seed, preview_every=preview_every, save_minutes=save_minutes, backups=backups,
        workers=plan.workers, init=init, pretrain=pretrain,
    )
    app.workspace.ensure(app.workspace.models)
    with model_lock(app.workspace, request):
        prepared = prepare_training(request, app.workspace, app.registry, device)
        click.echo(plan.describe(device.name))          # once the model is ready: errors come alone
        load = busy_load(plan.cores)
        if not device.is_cuda and "threads" in plan.chosen and plan.threads > 1 and load:
            click.echo(f"the machine is busy (load average {load:.1f} on {plan.cores} cores): --threads 1 may "
                       f"train several times faster (threads that wait for each other on shared cores)")
        for note in (prepared.note, prepared.batch_note):
            if note:
                click.echo(note)
        start = prepared.start_iteration
        with tqdm(initial=start, total=iters or None, unit="it", desc=f"train {prepared.folder.name}",
                  dynamic_ncols=True) as bar:
            summary = prepared.train(progress=bar)
    losses = ", ".join(f"{k} {v:.4f}" for k, v in summary.last_losses.items() if k != "iteration")
    click.echo(f"trained iterations {summary.start_iteration}..{summary.iteration} (stopped: {summary.stop_reason}); "
               f"saved to {summary.folder}" + (f"; last losses: {losses}" if losses else ""))
