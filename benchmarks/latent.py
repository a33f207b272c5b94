"""Latent tools on the CPU: morph frames/s and generate samples/s, for the vae presets.

Extracts a small face set from a real talking-head clip and trains each preset for two
steps (speed does not depend on how well a model is trained), then times
  - the model alone: decoding a morph path (encode two faces once, interpolate, decode
    N frames in one batch) and sampling + decoding faces from the prior;
  - the commands end to end, as a user runs them in-process: `faceswap morph` from two
    photos to an MP4 (face detection, alignment, model, video encoding) and
    `faceswap generate` to a PNG grid (model loading included).
Writes benchmarks/results/latent.json.

Run: python benchmarks/latent.py [--steps 60] [--samples 64] [--presets quick full]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
from click.testing import CliRunner

from faceswap.cli.main import cli
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.faceset.store import FaceSet
from faceswap.latent.operations import interpolate
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device
from faceswap.train.loop import TrainSettings
from faceswap.train.session import TrainRequest, run_training
from faceswap.trained import load_trained_model
from faceswap.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("FACESWAP_TEST_MEDIA", ROOT.parent / "shared" / "media"))
CLIP = MEDIA / "video" / "young_woman__liveportrait_d10.mp4"
PHOTO_A = MEDIA / "photos" / "obama" / "obama.jpg"
PHOTO_B = MEDIA / "photos" / "biden" / "biden.jpg"


def best_of(repeats: int, work) -> float:
    """Fastest of ``repeats`` runs, in seconds (the others met a busy machine)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def time_model(folder: Path, registry: Registry, steps: int, samples: int) -> dict[str, float]:
    model, _ = load_trained_model(folder, registry, resolve_device("cpu"))
    res = model.options.resolution
    faces = torch.rand(2, 3, res, res, generator=torch.Generator().manual_seed(0))

    def morph() -> None:
        with torch.no_grad():
            codes = model.encode(faces)
            model.decode(interpolate(codes[0], codes[1], steps, "spherical"), 0)

    def generate() -> None:
        with torch.no_grad():
            model.decode(model.sample(samples, 1.0, torch.Generator().manual_seed(0)), 0)

    morph(), generate()                                   # warm-up: first calls allocate
    return {"morph_frames_per_s": steps / best_of(3, morph), "generate_samples_per_s": samples / best_of(3, generate)}


def time_commands(ws: Path, name: str, steps: int, samples: int, out: Path) -> dict[str, float]:
    runner = CliRunner()

    def invoke(*args: str) -> float:
        started = time.perf_counter()
        result = runner.invoke(cli, ["--workspace", str(ws), "--device", "cpu", *args])
        if result.exit_code != 0:
            raise RuntimeError(result.output)
        return time.perf_counter() - started

    morph_s = invoke("morph", str(PHOTO_A), str(PHOTO_B), "--model", name, "--steps", str(steps), "--paste",
                     "-o", str(out / f"{name}_morph.mp4"))
    generate_s = invoke("generate", "--model", name, "-n", str(samples), "-o", str(out / f"{name}_grid.png"))
    return {"morph_cli_seconds": morph_s, "morph_cli_frames_per_s": steps / morph_s,
            "generate_cli_seconds": generate_s, "generate_cli_samples_per_s": samples / generate_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="morph frames")
    parser.add_argument("--samples", type=int, default=64, help="faces generated")
    parser.add_argument("--presets", nargs="+", default=["quick", "full"])
    args = parser.parse_args()
    registry, cpu = Registry.discover(), resolve_device("cpu")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ws = Workspace(work / "ws")
        plugins = build_extract_plugins(registry, ExtractChoice(identity=None), {}, cpu)
        extract(CLIP, FaceSet(ws.faceset_dir("faces")), plugins, ExtractSettings(every=10))
        for preset in args.presets:
            name = f"vae_{preset}"
            run_training(TrainRequest(plugin="vae", preset=preset, name=name, src=("faces",), dst=("faces",),
                                      settings=TrainSettings(batch=2, iters=2), seed=0, preview_every=0,
                                      save_minutes=0, workers=0), ws, registry, cpu)
            model, _ = load_trained_model(ws.model_dir(name), registry, cpu)
            results[preset] = {"resolution": model.options.resolution, "latent_dims": model.options.latent_dims,
                               "parameters_m": sum(p.numel() for p in model.parameters()) / 1e6,
                               **time_model(ws.model_dir(name), registry, args.steps, args.samples),
                               **time_commands(ws.root, name, args.steps, args.samples, work)}
    print(f"cores {os.cpu_count()}, torch threads {torch.get_num_threads()}; morph {args.steps} frames "
          f"({PHOTO_A.name} -> {PHOTO_B.name}, --paste, MP4), generate {args.samples} faces")
    for preset, r in results.items():
        print(f"{preset:>6} ({r['resolution']} px, latent {r['latent_dims']}, {r['parameters_m']:.1f} M params): "
              f"model morph {r['morph_frames_per_s']:.1f} frames/s, generate {r['generate_samples_per_s']:.1f} "
              f"samples/s | command morph {r['morph_cli_seconds']:.2f} s = {r['morph_cli_frames_per_s']:.1f} "
              f"frames/s, generate {r['generate_cli_seconds']:.2f} s = {r['generate_cli_samples_per_s']:.1f} samples/s")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latent.json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "morph_steps": args.steps, "samples": args.samples,
        "morph_inputs": [PHOTO_A.name, PHOTO_B.name], "presets": results,
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
