"""Swap network speed: torch against the ONNX export in onnxruntime, on the same faces.

Builds an sae model of the preset (fresh weights: speed does not depend on training), exports it
as merge would (`faceswap export --onnx`), and times batches of real faces from the shared media
through both engines in alternating rounds (the machine is shared: ratios within one run).
Writes benchmarks/results/swap_engines.json.

Run: python benchmarks/swap_engines.py [--preset quick] [--batch 32] [--rounds 5] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap.merge.onnx_swap import OnnxSwap, export_swap
from faceswap.options import build_options
from faceswap.registry import Registry
from faceswap.runtime.device import Device, limit_threads

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("FACESWAP_TEST_MEDIA", ROOT.parent / "shared" / "media"))
RESULTS = ROOT / "benchmarks" / "results"


def real_faces(count: int, resolution: int) -> np.ndarray:
    """(count, 3, R, R) float32 crops of the shared photos (resized whole images: speed only)."""
    paths = sorted((MEDIA / "photos").rglob("*.jpg"))[:count] or sorted(MEDIA.rglob("*.jpg"))[:count]
    crops = [cv2.resize(cv2.imread(str(p))[..., ::-1], (resolution, resolution), interpolation=cv2.INTER_AREA)
             for p in paths]
    while len(crops) < count:
        crops += crops[: count - len(crops)]
    return np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2), np.float32) / 255.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    limit_threads(args.threads)
    plugin = Registry.discover().load("model", "sae")
    model = plugin(build_options(plugin.Options, plugin.PRESETS[args.preset], "sae")).eval()
    faces = real_faces(args.batch, model.resolution)
    with tempfile.TemporaryDirectory() as folder:
        _, difference = export_swap(model, Path(folder), "benchmark")
        onnx = OnnxSwap(Path(folder), "benchmark", Device("cpu", threads=args.threads))

        @torch.no_grad()
        def run_torch() -> None:
            model.decode(model.encode(torch.from_numpy(faces)).code, 0)

        engines = {"torch": run_torch, "onnx": lambda: onnx(faces)}
        for run in engines.values():
            run()                                           # warm up
        times: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(args.rounds):
            for name, run in engines.items():
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
    per_second = {name: args.batch / float(np.median(t)) for name, t in times.items()}
    result = {"preset": args.preset, "batch": args.batch, "threads": args.threads, "rounds": args.rounds,
              "faces_per_s": {k: round(v, 1) for k, v in per_second.items()},
              "onnx_over_torch": round(per_second["onnx"] / per_second["torch"], 2),
              "max_abs_difference": difference}
    print(json.dumps(result, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"swap_engines_{args.preset}.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
