"""``faceswap morph``, ``generate`` and ``attribute``: the latent-space tools (thin: parse, call, report)."""
from __future__ import annotations

import re
from pathlib import Path

import click
import numpy as np
import torch

from faceswap.cli.context import AppContext
from faceswap.errors import InputError
from faceswap.cli.extraction import plugins_like
from faceswap.latent.faces import FaceInput, face_folder_inputs, load_face_input
from faceswap.latent.operations import (INTERPOLATIONS, attribute_vector, check_attribute, decode_in_batches,
                                        encode_in_batches, interpolate, read_attribute, save_attribute, to_images,
                                        to_tensor)
from faceswap.latent.render import IMAGE_SUFFIXES, check_output, grid, write_sequence, write_tagged_png
from faceswap.merge.masks import shape_mask
from faceswap.merge.pipeline import paste_face
from faceswap.model_api import LatentSampler
from faceswap.trained import load_trained_model

ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _model(app: AppContext, name: str, decoder: int = 0):
    model, info = load_trained_model(app.workspace.model_dir(name), app.registry, app.device())
    if decoder >= model.decoder_count:
        raise InputError(f"--decoder {decoder}: model '{name}' has {model.decoder_count} decoder(s), numbered from 0")
    return model, info, next(model.parameters()).device


def _plugins(app: AppContext, info: dict):
    """Face finding with the plugins the model's own face sets were extracted with."""
    sets = info.get("facesets", {})
    return plugins_like(app, [*sets.get("src", []), *sets.get("dst", [])], app.device(), identity=False)


@click.command("morph")
@click.argument("face_a")
@click.argument("face_b")
@click.option("--model", "model_name", default="vae", show_default=True, help="Trained model folder (vae or sae).")
@click.option("--decoder", type=click.IntRange(0, 1), default=0, show_default=True,
              help="Which decoder of a two-decoder (sae) model draws the faces: 0 source, 1 destination.")
@click.option("--steps", type=click.IntRange(min=2), default=9, show_default=True,
              help="Frames from A to B, both included.")
@click.option("--mode", type=click.Choice(INTERPOLATIONS), default="spherical", show_default=True,
              help="Straight-line or spherical interpolation of the latent codes.")
@click.option("--paste", is_flag=True, help="Blend each morphed face back into photo A, as merge does.")
@click.option("--color", help="With --paste: colour-transfer plugin matching the morphed face to A "
                              "('none' keeps its colours).  [default: rct]")
@click.option("--blender", help="With --paste: blender plugin (alpha, seamless or laplacian).  [default: alpha]")
@click.option("--fps", type=click.FloatRange(min=1), default=10.0, show_default=True,
              help="Frame rate of a GIF or MP4.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="A .png strip, or a .gif / .mp4 animation.")
@click.pass_obj
def morph_command(app: AppContext, face_a: str, face_b: str, model_name: str, decoder: int, steps: int, mode: str,
                  paste: bool, color: str | None, blender: str | None, fps: float, output: Path) -> None:
    """Morph FACE_A into FACE_B through the model's latent space.

    FACE_A and FACE_B are photos, faceswap face files, or video frames written VIDEO@N.
    """
    check_output(output)
    if not paste and (color or blender):
        raise InputError("--color and --blender choose how --paste blends: add --paste")
    pasting = _paste_plugins(app, color or "rct", blender or "alpha") if paste else None
    model, info, device = _model(app, model_name, decoder)
    res, coverage = model.resolution, model.coverage
    plugins = _plugins(app, info)
    a, b = (load_face_input(spec, plugins, res, coverage) for spec in (face_a, face_b))
    with torch.no_grad():
        codes = model.encode(to_tensor([a.crop, b.crop], device)).code
        rgb, masks = decode_in_batches(model, interpolate(codes[0], codes[1], steps, mode), decoder)
    frames = to_images(rgb)
    if pasting is not None:
        frames = _paste_into_a(a, frames, masks[:, 0].numpy(), *pasting)
    write_sequence(output, frames, fps)
    click.echo(f"{steps} frames from {face_a} to {face_b} ({mode}) -> {output}")


def _paste_plugins(app: AppContext, color: str, blender: str):
    """The colour and blender plugins for --paste, made before any slow work so a typo fails at once."""
    options = app.plugin_options({"color": [color], "blender": [blender]}, ())
    return (app.registry.create("color", color, options["color"][color], app.device()),
            app.registry.create("blender", blender, options["blender"][blender], app.device()))


def _paste_into_a(a: FaceInput, faces: list[np.ndarray], masks: np.ndarray, color, blender) -> list[np.ndarray]:
    """Each morphed face colour-matched to A's face and blended into A's image under its predicted mask."""
    target = a.crop.astype(np.float32) / 255.0
    pasted = []
    for face, predicted in zip(faces, masks):
        mask = shape_mask(predicted, 0.0, 0.04)
        matched = color.transfer(face.astype(np.float32) / 255.0, target, mask)
        pasted.append(paste_face(a.image, np.clip(matched * 255.0 + 0.5, 0, 255).astype(np.uint8), mask, a.matrix,
                                 blender))
    return pasted


@click.command("generate")
@click.option("--model", "model_name", default="vae", show_default=True, help="Trained vae model folder.")
@click.option("-n", "count", type=click.IntRange(min=1), default=16, show_default=True, help="How many faces.")
@click.option("--temperature", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Spread of the prior samples: lower gives more average faces.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the samples.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="PNG grid to write.")
@click.pass_obj
def generate_command(app: AppContext, model_name: str, count: int, temperature: float, seed: int, output: Path) -> None:
    """Sample new faces from a VAE's prior and save them as a grid."""
    check_output(output, IMAGE_SUFFIXES)
    model, info, _ = _model(app, model_name)
    if not isinstance(model, LatentSampler):
        raise InputError(f"model '{model_name}' is a '{info['plugin']}' model, which cannot sample: train a vae")
    with torch.no_grad():
        rgb, _ = decode_in_batches(model, model.sample(count, temperature, torch.Generator().manual_seed(seed)), 0)
    write_tagged_png(output, grid(to_images(rgb)))
    click.echo(f"{count} faces sampled at temperature {temperature} -> {output}")


@click.command("attribute")
@click.argument("photo", required=False)
@click.option("--model", "model_name", default="vae", show_default=True, help="Trained model folder.")
@click.option("--with", "with_dir", type=click.Path(path_type=Path), help="Folder of faces that show the attribute.")
@click.option("--without", "without_dir", type=click.Path(path_type=Path), help="Folder of faces that do not.")
@click.option("--name", help="Name to save the attribute vector under (<workspace>/models/MODEL/attributes/NAME"
                             ".safetensors).")
@click.option("--apply", "apply_name", help="Apply the model's saved attribute NAME to PHOTO.")
@click.option("--alpha", "alphas", default="1", show_default=True,
              help="Strength, or several comma-separated for a strip (e.g. --alpha=-2,-1,0,1,2).")
@click.option("--decoder", type=click.IntRange(0, 1), default=0, show_default=True,
              help="Decoder of a two-decoder model.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="PNG strip (or GIF / MP4) to write when applying.")
@click.pass_obj
def attribute_command(app: AppContext, photo: str | None, model_name: str, with_dir: Path | None,
                      without_dir: Path | None, name: str | None, apply_name: str | None, alphas: str,
                      decoder: int, output: Path | None) -> None:
    """Make a latent attribute vector (e.g. a smile) from two folders, or apply one to PHOTO."""
    folder = app.workspace.model_dir(model_name) / "attributes"
    if apply_name is None:
        if not (with_dir and without_dir and name):
            raise InputError("to make an attribute give --with DIR, --without DIR and --name NAME "
                             "(or --apply NAME PHOTO to use one)")
        _check_name(name)
        model, info, device = _model(app, model_name)
        res, coverage = model.resolution, model.coverage
        plugins = _plugins(app, info)
        with torch.no_grad():
            with_codes = encode_in_batches(model, face_folder_inputs(with_dir, plugins, res, coverage), device)
            without_codes = encode_in_batches(model, face_folder_inputs(without_dir, plugins, res, coverage), device)
        app.workspace.ensure(folder)
        save_attribute(folder / f"{name}.safetensors", attribute_vector(with_codes, without_codes), model_name,
                       (len(with_codes), len(without_codes)))
        click.echo(f"attribute '{name}' from {len(with_codes)} faces with and {len(without_codes)} without "
                   f"-> {folder / (name + '.safetensors')}")
        return
    if photo is None or output is None:
        raise InputError("--apply NAME needs a PHOTO and -o OUT.png")
    _check_name(apply_name)
    check_output(output)
    vector, made_for = read_attribute(folder / f"{apply_name}.safetensors")
    try:
        strengths = [float(a) for a in alphas.split(",")]
    except ValueError:
        raise InputError(f"--alpha takes numbers separated by commas, got '{alphas}'") from None
    model, info, device = _model(app, model_name, decoder)
    face = load_face_input(photo, _plugins(app, info), model.resolution, model.coverage)
    with torch.no_grad():
        code = model.encode(to_tensor([face.crop], device)).code[0]
        check_attribute(vector, made_for, model_name, code.numel(), apply_name)
        vector = vector.to(device)
        rgb, _ = decode_in_batches(model, torch.stack([code + a * vector.view_as(code) for a in strengths]), decoder)
    write_sequence(output, to_images(rgb))
    click.echo(f"'{apply_name}' at strengths {', '.join(map(str, strengths))} -> {output}")


def _check_name(name: str) -> None:
    if not ATTRIBUTE_NAME.fullmatch(name):
        raise InputError(f"attribute name '{name}': use letters, digits, '_', '-' and '.' (no folders)")
