"""Latent tools on the CPU: morph frames/s and generate samples/s, for the vae presets.

Extracts a small face set from a real talking-head clip and trains each preset for two
steps (speed does not depend on how well a model is trained), then times
  - the model alone: decoding a morph path (encode two faces once, interpolate, decode
    N frames in one batch) and sampling + decoding faces from the prior;
  - the commands end to end, as a user runs them in-process: `faceswap morph` from two
    photos to an MP4 (face detection, alignment, model, video encoding) and
    `faceswap generate` to a PNG grid (model loading included).
Writes benchmarks/results/latent.json.

Quality (--quality-iters N): extracts every 3rd frame of nine real talking-head clips,
trains the quick vae on seven people (every 5th of their faces held out) for N iterations
at each --kl-weights value, and reports: the share of 2-step morphs whose first frame is
closer (inside the face mask) to A than to B and whose last is closer to B, for held-out
frames of trained people and for pairs with one of the two people never trained on; the
masked reconstruction error; the share of 64 prior samples (temperature 0.5 and 1) in which
SCRFD finds a face. Writes latent_quality.json (runs of other betas kept) and
latent_quality_<beta>_<iters>_lr<lr>.png (two morphs, then samples at T 0.5 and T 1).

Run: python benchmarks/latent.py [--steps 60] [--samples 64] [--presets quick full]
     python benchmarks/latent.py --presets --quality-iters 600 --kl-weights 0.002 0.0005
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner

from faceswap.cli.main import cli
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.faceset.store import FaceSet
from faceswap.latent.operations import interpolate, to_images
from faceswap.latent.quality import faces_found, masked_crop, masked_mse
from faceswap.latent.render import grid
from faceswap.media.image import write_image
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
RESULTS = ROOT / "benchmarks" / "results"


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
            codes = model.encode(faces).code
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


QUALITY_CLIPS = ("aoc__hdtf_wda_000", "katie_hill__hdtf_wda_000", "lin_manuel_miranda__white_house_2009",
                 "man_glasses__liveportrait_d9", "woman_expressions__liveportrait_d6", "young_woman__liveportrait_d10",
                 "foreman__cif_h264_conformance")
UNSEEN_CLIPS = ("obama__weekly_address", "eric_swalwell__retalking_face2")      # people the model never sees


def quality_facesets(ws: Workspace, registry: Registry, held_out: Path) -> dict[str, list[Path]]:
    """Face sets of nine people. Every 5th face of the seven training people, and every face of the two
    unseen people, is moved to ``held_out/<clip>/`` (training skips a face whose file is gone)."""
    cpu = resolve_device("cpu")
    plugins = build_extract_plugins(registry, ExtractChoice(identity=None), {}, cpu)
    held: dict[str, list[Path]] = {}
    for clip in QUALITY_CLIPS + UNSEEN_CLIPS:
        extract(MEDIA / "video" / f"{clip}.mp4", FaceSet(ws.faceset_dir(clip)), plugins,
                ExtractSettings(every=3, max_faces=1))
        (held_out / clip).mkdir(parents=True, exist_ok=True)
        faces = sorted((ws.faceset_dir(clip) / "faces").glob("*.png"))
        held[clip] = [face.rename(held_out / clip / face.name) for face in faces[::1 if clip in UNSEEN_CLIPS else 5]]
    return held


def morph_pairs(held_out: dict[str, list[Path]], people: list[str], partners: list[str]) -> list[tuple[Path, Path]]:
    """Five pairs of held-out faces for each person in ``people`` with each other person in ``partners``."""
    pairs, seen = [], set()
    for a in people:
        for b in partners:
            if a == b or (b, a) in seen:
                continue
            seen.add((a, b))
            pairs += [(held_out[a][(k * 11) % len(held_out[a])], held_out[b][(k * 7) % len(held_out[b])])
                      for k in range(5)]
    return pairs


def morph_endpoints(model, pairs: list[tuple[Path, Path]]) -> tuple[float, float]:
    """(share of pairs whose 2-step morph starts nearer A and ends nearer B, mean masked MSE of the ends)."""
    res, coverage = model.options.resolution, model.options.coverage
    ok, errors = 0, []
    for path_a, path_b in pairs:
        (a, mask_a), (b, mask_b) = masked_crop(path_a, res, coverage), masked_crop(path_b, res, coverage)
        codes = model.encode(torch.from_numpy(np.stack([a, b]))).code
        frames = model.decode(interpolate(codes[0], codes[1], 2, "spherical"), 0)[0].numpy()
        ok += (masked_mse(frames[0], a, mask_a) < masked_mse(frames[0], b, mask_a)
               and masked_mse(frames[1], b, mask_b) < masked_mse(frames[1], a, mask_b))
        errors += [masked_mse(frames[0], a, mask_a), masked_mse(frames[1], b, mask_b)]
    return ok / len(pairs), float(np.mean(errors))


@torch.no_grad()
def latent_quality(folder: Path, registry: Registry, held_out: dict[str, list[Path]], picture: Path) -> dict:
    cpu = resolve_device("cpu")
    model, _ = load_trained_model(folder, registry, cpu)
    res, coverage = model.options.resolution, model.options.coverage
    everyone = list(held_out)
    seen_pairs = morph_pairs(held_out, list(QUALITY_CLIPS), list(QUALITY_CLIPS))
    unseen_pairs = morph_pairs(held_out, list(UNSEEN_CLIPS), everyone)
    seen_ok, seen_mse = morph_endpoints(model, seen_pairs)
    unseen_ok, unseen_mse = morph_endpoints(model, unseen_pairs)
    detector = registry.create("detector", "scrfd", {}, cpu)
    found, grids = {}, []
    for temperature in (0.5, 1.0):
        rgb, _ = model.decode(model.sample(64, temperature, torch.Generator().manual_seed(0)), 0)
        images = to_images(rgb)
        grids.append(grid(images[:16], columns=16))
        found[f"samples_with_face_t{temperature}"] = faces_found(detector, images) / len(images)
    strips = []
    for path_a, path_b in (seen_pairs[0], unseen_pairs[0]):
        a, b = masked_crop(path_a, res, coverage)[0], masked_crop(path_b, res, coverage)[0]
        codes = model.encode(torch.from_numpy(np.stack([a, b]))).code
        strips.append(grid(to_images(model.decode(interpolate(codes[0], codes[1], 16, "spherical"), 0)[0]), 16))
    write_image(picture, np.concatenate([*strips, *grids]))
    return {"seen_people_pairs": len(seen_pairs), "seen_people_endpoints_ok": seen_ok, "seen_people_mse": seen_mse,
            "unseen_people_pairs": len(unseen_pairs), "unseen_people_endpoints_ok": unseen_ok,
            "unseen_people_mse": unseen_mse, **found}


def write_quality_report(report: dict) -> None:
    """Write latent_quality.json, keeping earlier runs (other betas or lengths) made on the same faces."""
    path = RESULTS / "latent_quality.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    same = all(old.get(key) == report[key] for key in ("clips", "unseen", "train_faces"))
    # runs written before keys named their length and learning rate used the default rate
    default_lr = 5e-5           # the trainer's default before it depended on the model size
    earlier = {(key if "@" in key else f"beta {key} @ {old.get('iterations')} iterations, lr {default_lr}"): run
               for key, run in old.get("runs", {}).items()} if same else {}
    report = {key: value for key, value in report.items() if key != "iterations"}
    path.write_text(json.dumps({**report, "runs": {**earlier, **report["runs"]}}, indent=2) + "\n")


def quality(args: argparse.Namespace, registry: Registry, work: Path) -> dict:
    ws = Workspace(work / "quality")
    held_out = quality_facesets(ws, registry, work / "held_out")
    report: dict = {"iterations": args.quality_iters, "clips": list(QUALITY_CLIPS), "unseen": list(UNSEEN_CLIPS),
                    "train_faces": sum(len(list((ws.faceset_dir(c) / "faces").glob("*.png"))) for c in QUALITY_CLIPS),
                    "held_out_faces": sum(map(len, held_out.values())), "runs": {}}
    for beta in args.kl_weights:
        name = f"vae_kl{beta}"
        started = time.perf_counter()
        run_training(TrainRequest(plugin="vae", preset="quick", name=name, src=QUALITY_CLIPS, dst=QUALITY_CLIPS,
                                  model_options={"kl_weight": beta},
                                  settings=TrainSettings(batch=8, lr=args.lr, iters=args.quality_iters), seed=0,
                                  preview_every=0, save_minutes=5, workers=1), ws, registry, resolve_device("cpu"))
        minutes = (time.perf_counter() - started) / 60
        picture = RESULTS / f"latent_quality_{beta}_{args.quality_iters}_lr{args.lr}.png"
        result = latent_quality(ws.model_dir(name), registry, held_out, picture)
        run_name = f"beta {beta} @ {args.quality_iters} iterations, lr {args.lr}"
        report["runs"][run_name] = {"train_minutes": minutes, **result}
        write_quality_report(report)             # after each run, so runs made one at a time add up
        print(f"beta {beta}, lr {args.lr}: {args.quality_iters} iterations in {minutes:.1f} min; morph ends right: "
              f"{result['seen_people_endpoints_ok']:.0%} of {result['seen_people_pairs']} held-out frames of "
              f"trained people (masked MSE {result['seen_people_mse']:.4f}), "
              f"{result['unseen_people_endpoints_ok']:.0%} of {result['unseen_people_pairs']} pairs with an unseen "
              f"person (MSE {result['unseen_people_mse']:.4f}); SCRFD finds a face in "
              f"{result['samples_with_face_t0.5']:.0%} (T 0.5) / {result['samples_with_face_t1.0']:.0%} (T 1) "
              f"of 64 samples")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="morph frames")
    parser.add_argument("--samples", type=int, default=64, help="faces generated")
    parser.add_argument("--presets", nargs="*", default=["quick", "full"], help="presets to time (none: skip)")
    parser.add_argument("--quality-iters", type=int, default=0, help="also run the quality check this long")
    parser.add_argument("--lr", type=float, default=5e-4, help="learning rate for the quality check")
    parser.add_argument("--kl-weights", type=float, nargs="+", default=[0.002], help="betas for the quality check")
    args = parser.parse_args()
    registry, cpu = Registry.discover(), resolve_device("cpu")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.quality_iters:
            RESULTS.mkdir(parents=True, exist_ok=True)
            quality(args, registry, work)
        if not args.presets:
            return
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
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latent.json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "morph_steps": args.steps, "samples": args.samples,
        "morph_inputs": [PHOTO_A.name, PHOTO_B.name], "presets": results,
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
