"""Training speed and a quality check for the SAE presets on real faces.

Speed (default): for the `quick` and `full` presets on this machine's CPU (or CUDA when
present): samples/s of a training step, the model's FLOPs per sample (forward +
backward, counted by torch), the achieved GFLOP/s as a share of a plain matmul's
GFLOP/s measured in the same run, and the data loader's samples/s on its own.

Quality (--quality-minutes N): extract AOC and Katie Hill from shared/media, train
`quick` for N minutes, save the preview grid, and compare the ArcFace identity of the
swapped faces (Katie's faces decoded as AOC) with both people. Goal: closer to AOC.

Writes benchmarks/results/train.json (and train_quality.json + train_quality.png).
Run: python benchmarks/train.py [--quality-minutes 20]
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
from torch.utils.flop_counter import FlopCounterMode

from faceswap.options import build_options
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device
from faceswap.train.losses import LossConfig
from faceswap.train.samples import FacePairDataset, SampleConfig, make_loader
from faceswap.train.step import AutoencoderStep, to_device

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("FACESWAP_TEST_MEDIA", ROOT.parent / "shared" / "media"))
RESULTS = ROOT / "benchmarks" / "results"
CLIPS = {"src": "aoc__hdtf_wda_000.mp4", "dst": "katie_hill__hdtf_wda_000.mp4"}


def matmul_gflops(device: str, size: int = 2048, repeat: int = 10) -> float:
    a, b = torch.rand(size, size, device=device), torch.rand(size, size, device=device)
    torch.mm(a, b)
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeat):
        torch.mm(a, b)
    _sync(device)
    return 2 * size ** 3 * repeat / (time.perf_counter() - started) / 1e9


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def extract_facesets(workspace: Path, every: int) -> None:
    from faceswap.extract.pipeline import ExtractSettings, extract
    from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
    from faceswap.faceset.store import FaceSet

    plugins = build_extract_plugins(Registry.discover(), ExtractChoice(), {}, resolve_device("cpu"))
    for name, clip in CLIPS.items():
        folder = FaceSet(workspace / "facesets" / name)
        if not folder.exists():
            extract(MEDIA / "video" / clip, folder, plugins, ExtractSettings(every=every))


def step_speed(preset: str, batch: int, steps: int, workspace: Path, device: str) -> dict:
    """Samples/s and FLOPs of training steps of one preset (both identities per step)."""
    registry = Registry.discover()
    plugin = registry.load("model", "sae")
    options = build_options(plugin.Options, plugin.PRESETS[preset], "sae")
    model = plugin(options).to(device)
    step = AutoencoderStep(model, LossConfig())
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    faces = {side: sorted((workspace / "facesets" / side / "faces").glob("*.png")) for side in CLIPS}
    dataset = FacePairDataset(faces["src"], faces["dst"], SampleConfig(options.resolution, options.coverage), seed=0)
    batches = iter(make_loader(dataset, batch, 0, workers=1))

    def one_step(data) -> None:
        loss = sum(step(data, 1).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    data = to_device(next(batches), torch.device(device))
    with FlopCounterMode(display=False) as counter:
        one_step(data)
    flops_per_sample = counter.get_total_flops() / (2 * batch)
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        one_step(to_device(next(batches), torch.device(device)))
    _sync(device)
    seconds = (time.perf_counter() - started) / steps
    return {"preset": preset, "resolution": options.resolution, "batch": batch,
            "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
            "step_s": seconds, "samples_per_s": 2 * batch / seconds,
            "gflop_per_sample": flops_per_sample / 1e9, "achieved_gflops": flops_per_sample * 2 * batch / seconds / 1e9}


def loader_speed(workspace: Path, resolution: int, workers: int, batches: int = 30) -> float:
    faces = {side: sorted((workspace / "facesets" / side / "faces").glob("*.png")) for side in CLIPS}
    dataset = FacePairDataset(faces["src"], faces["dst"], SampleConfig(resolution, 1.6), seed=0)
    loader = iter(make_loader(dataset, 8, 0, workers=workers))
    next(loader)
    started = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * 16 / (time.perf_counter() - started)


def speed(workspace: Path, device: str) -> dict:
    extract_facesets(workspace, every=10)
    matmul = matmul_gflops(device)
    quick = step_speed("quick", 8, 10, workspace, device)
    full = step_speed("full", 2 if device == "cpu" else 8, 2 if device == "cpu" else 10, workspace, device)
    loader = {f"workers={w}": loader_speed(workspace, 64, w) for w in (0, 1)}
    return {"device": device, "matmul_gflops": matmul, "quick": quick, "full": full, "loader_samples_per_s": loader}


def quality(workspace: Path, minutes: float, device: str) -> dict:
    """Train quick for ``minutes`` and measure identity similarity of the swaps."""
    from faceswap.train.loop import TrainSettings
    from faceswap.train.session import TrainRequest, run_training
    from faceswap.workspace import Workspace

    workspace = workspace / "quality"           # every frame of both clips, apart from the speed run's sets
    extract_facesets(workspace, every=1)
    request = TrainRequest(preset="quick", settings=TrainSettings(batch=8, minutes=minutes), seed=0,
                           preview_every=0, save_minutes=5, workers=1)
    summary = run_training(request, Workspace(workspace), Registry.discover(), resolve_device(device))
    return {"minutes": minutes, "iterations": summary.iteration, **swap_identity(workspace, summary.folder)}


@torch.no_grad()
def swap_identity(workspace: Path, model_folder: Path) -> dict:
    """ArcFace cosine of swapped faces (dst decoded as src) to each person's mean identity.

    All faces are compared at the model's resolution (targets too), so blur affects both sides alike.
    """
    from faceswap.align.template import template_pixels
    from faceswap.media.image import write_image
    from faceswap.train.checkpoint import load_checkpoint
    from faceswap.train.preview import preview_grid
    from faceswap.train.session import preview_faces
    from faceswap.types import Landmarks

    registry, cpu = Registry.discover(), resolve_device("cpu")
    checkpoint = load_checkpoint(model_folder)
    model = registry.create("model", "sae", checkpoint.model_info["options"], cpu)
    model.load_state_dict(checkpoint.weights)
    model.eval()
    res, coverage = model.options.resolution, model.options.coverage
    faces = {side: sorted((workspace / "facesets" / side / "faces").glob("*.png")) for side in CLIPS}
    src, dst = preview_faces(faces["src"], faces["dst"], SampleConfig(res, coverage), count=50)
    swapped, _ = model.decode(model.encode(dst).code, 0)
    arcface = registry.create("identity", "arcface", {}, cpu)
    points = Landmarks(template_pixels(res, coverage).astype(np.float32))

    def embed(batch: torch.Tensor) -> np.ndarray:
        images = [(t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for t in batch]
        return arcface.embed(images, [points] * len(images))

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v)

    ref_src, ref_dst = unit(embed(src).mean(0)), unit(embed(dst).mean(0))
    swap = embed(swapped)
    write_image(RESULTS / "train_quality.png", preview_grid(model, src[:6], dst[:6]))
    return {"faces_compared": len(swap), "swap_cos_to_src": float((swap @ ref_src).mean()),
            "swap_cos_to_dst": float((swap @ ref_dst).mean()),
            "dst_cos_to_dst": float((embed(dst) @ ref_dst).mean()),
            "src_cos_to_dst": float((embed(src) @ ref_dst).mean()),
            "swap_closer_to_src": float(((swap @ ref_src) > (swap @ ref_dst)).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality-minutes", type=float, default=0.0, help="also run the quality check (20 in the issue)")
    parser.add_argument("--workspace", type=Path, help="reuse this workspace (face sets are extracted once)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--evaluate", type=Path, metavar="MODEL_DIR",
                        help="only measure the identity of swaps of this trained model (face sets of --workspace)")
    args = parser.parse_args()
    if args.evaluate:
        extract_facesets(args.workspace, every=1)
        report = swap_identity(args.workspace, args.evaluate)
        print(json.dumps(report, indent=2))
        return
    device = resolve_device(args.device).torch_device
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="faceswap-bench-"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
              "torch_threads": torch.get_num_threads(), **speed(workspace, device)}
    print(f"matmul: {result['matmul_gflops']:.1f} GFLOP/s on {device}")
    for preset in ("quick", "full"):
        r = result[preset]
        print(f"{preset:5s} {r['resolution']}px batch {r['batch']}: {r['samples_per_s']:.2f} samples/s, "
              f"{r['gflop_per_sample']:.2f} GFLOP/sample, {r['achieved_gflops']:.1f} GFLOP/s "
              f"({r['achieved_gflops'] / result['matmul_gflops']:.0%} of matmul), {r['params_M']:.1f} M params")
    for name, rate in result["loader_samples_per_s"].items():
        print(f"data loader {name}: {rate:.0f} samples/s ({rate / result['quick']['samples_per_s']:.0f}x what quick consumes)")
    (RESULTS / f"train_{device}.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.quality_minutes:
        report = quality(workspace, args.quality_minutes, device)
        print(json.dumps(report, indent=2))
        (RESULTS / "train_quality.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
