"""Training that fits the machine: samples/s of the quick preset for a few CPU thread and
loader-worker choices, and the cost of the perceptual (ST-LPIPS) term.

Each configuration trains in its own process (torch's thread count is per process) on real
faces (AOC and Katie Hill, every 10th frame), from scratch, batch 8 per side; the first
WARMUP steps are not timed. Configurations run in interleaved rounds and the figures are
medians over rounds, so a neighbour's load on these shared cores hits every configuration
alike: compare ratios within one run, not absolute figures across runs.
--interleaved-only adds the most load-proof figures: in one process, steps at 1 and 2 torch
threads and with ST-LPIPS take turns step by step (medians of per-step times).
Also times ST-LPIPS forward+backward on its own at 256 px (the full preset's faces) beside
nothing else, as a share of a full-preset step measured in benchmarks/results/train_cpu.json.

Writes benchmarks/results/train_fit.json.
Run: nice python benchmarks/train_fit.py [--steps 12] [--rounds 2]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WARMUP = 3
CONFIGS = {          # name: (threads, workers, loss options)
    "threads=1 workers=0": (1, 0, {}),
    "threads=1 workers=1": (1, 1, {}),
    "threads=2 workers=0": (2, 0, {}),
    "threads=2 workers=1": (2, 1, {}),
    "threads=1 workers=0 lpips alex": (1, 0, {"lpips_weight": "0.5"}),
    "threads=1 workers=0 lpips alex every 4": (1, 0, {"lpips_weight": "0.5", "lpips_every": "4"}),
}
BASE = "threads=1 workers=0"


def one(workspace: Path, threads: int, workers: int, loss: dict, steps: int) -> dict:
    """Train ``steps`` steps in this process; samples/s after the warm-up."""
    import torch

    from faceswap.registry import Registry
    from faceswap.runtime.device import resolve_device
    from faceswap.train.loop import Hook, TrainSettings
    from faceswap.train.session import TrainRequest, prepare_training
    from faceswap.workspace import Workspace

    torch.set_num_threads(threads)
    stamps: list[float] = []

    class Clock(Hook):
        def after_step(self, run, losses) -> None:
            stamps.append(time.perf_counter())

    request = TrainRequest(name=f"bench-{os.getpid()}", preset="quick", init="none", loss_options=loss, seed=0,
                           settings=TrainSettings(batch=8, iters=steps), preview_every=0, save_minutes=0,
                           workers=workers)
    prepared = prepare_training(request, Workspace(workspace), Registry.discover(), resolve_device("cpu"))
    prepared.hooks.append(Clock())
    prepared.train()
    timed = stamps[WARMUP:]
    return {"samples_per_s": (len(timed) - 1) * 8 * 2 / (timed[-1] - timed[0]),
            "step_s": (timed[-1] - timed[0]) / (len(timed) - 1)}


def interleaved(workspace: Path, steps: int) -> dict:
    """Seconds per quick-preset step (batch 8) at 1 and 2 torch threads, and with ST-LPIPS (alex, weight 0.5) at
    1 thread, measured in one process with the configurations taking turns step by step, so that a
    neighbour's load falls on all of them alike. Samples are made beforehand (no loader in the timing)."""
    import torch

    from faceswap.options import build_options
    from faceswap.registry import Registry
    from faceswap.train.losses import LossConfig
    from faceswap.train.perceptual import STLPIPS
    from faceswap.train.samples import FacePairDataset, SampleConfig
    from faceswap.train.step import AutoencoderStep
    from torch.utils.data import default_collate

    plugin = Registry.discover().load("model", "sae")
    options = build_options(plugin.Options, plugin.PRESETS["quick"], "sae")
    torch.manual_seed(0)
    model = plugin(options)
    faces = {side: sorted((workspace / "facesets" / side / "faces").glob("*.png")) for side in ("src", "dst")}
    dataset = FacePairDataset(faces["src"], faces["dst"], SampleConfig(options.resolution, options.coverage), 0)
    batches = [default_collate([dataset[i * 8 + k] for k in range(8)]) for i in range(4)]
    plain = AutoencoderStep(model, LossConfig())
    lpips_config = LossConfig(lpips_weight=0.5)
    perceptual = AutoencoderStep(model, lpips_config, STLPIPS("alex"))
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
    configs = {"1 thread": (1, plain), "2 threads": (2, plain), "1 thread + lpips alex": (1, perceptual)}
    times: dict[str, list[float]] = {name: [] for name in configs}
    for step in range(steps + 1):
        for name, (threads, module) in configs.items():
            torch.set_num_threads(threads)
            started = time.perf_counter()
            loss = sum(module(batches[step % len(batches)], step).values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step:                    # the first round warms up
                times[name].append(time.perf_counter() - started)
    table = {name: {"step_s": statistics.median(t), "samples_per_s": 16 / statistics.median(t)}
             for name, t in times.items()}
    base = table["1 thread"]["samples_per_s"]
    for row in table.values():
        row["vs 1 thread"] = row["samples_per_s"] / base
    return {"steps": steps, "batch": 8, "configs": table}


def lpips_share(repeat: int = 3) -> dict:
    """Seconds of ST-LPIPS forward+backward for a 256 px batch of 2 per side, against a full-preset step."""
    import torch

    from faceswap.train.perceptual import STLPIPS

    torch.set_num_threads(2)
    out = {}
    full_step = json.loads((RESULTS / "train_cpu.json").read_text())["full"]["step_s"]
    for net in ("alex", "vgg"):
        loss = STLPIPS(net)
        x = torch.rand(2, 3, 256, 256, requires_grad=True)
        y = torch.rand(2, 3, 256, 256)
        times = []
        for _ in range(repeat + 1):
            started = time.perf_counter()
            for _side in range(2):          # the step computes it for src and for dst
                loss(x, y).mean().backward()
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times[1:])
        out[net] = {"seconds_per_step_batch2": seconds, "share_of_full_step": seconds / (full_step + seconds)}
    out["full_step_s_from_train_cpu_json"] = full_step
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)          # internal: one configuration, JSON to stdout
    parser.add_argument("--interleaved-only", action="store_true",
                        help="only the in-process interleaved comparison, added to an existing train_fit.json")
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        threads, workers, loss = CONFIGS[args.one]
        print(json.dumps(one(args.workspace, threads, workers, loss, args.steps)))
        return
    spec = importlib.util.spec_from_file_location("bench_train", ROOT / "benchmarks" / "train.py")
    bench_train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_train)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        bench_train.extract_facesets(workspace, every=10)
        if args.interleaved_only:
            result = json.loads((RESULTS / "train_fit.json").read_text())
            result["interleaved"] = {"date": time.strftime("%Y-%m-%d %H:%M"), "load_average_1min_before":
                                     os.getloadavg()[0], **interleaved(workspace, args.steps)}
            (RESULTS / "train_fit.json").write_text(json.dumps(result, indent=2) + "\n")
            print(json.dumps(result["interleaved"], indent=2))
            return
        runs: dict[str, list[dict]] = {name: [] for name in CONFIGS}
        loads = [os.getloadavg()[0]]
        for _ in range(args.rounds):
            for name in CONFIGS:
                env = dict(os.environ, OMP_NUM_THREADS=str(CONFIGS[name][0]))
                out = subprocess.run([sys.executable, __file__, "--one", name, "--workspace", str(workspace),
                                      "--steps", str(args.steps)], env=env, capture_output=True, text=True,
                                     check=True)
                runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(name, runs[name][-1], flush=True)
            loads.append(os.getloadavg()[0])
    base = statistics.median(r["samples_per_s"] for r in runs[BASE])
    table = {name: {"samples_per_s": statistics.median(r["samples_per_s"] for r in found),
                    "rounds": [round(r["samples_per_s"], 2) for r in found]} for name, found in runs.items()}
    for row in table.values():
        row[f"vs {BASE}"] = row["samples_per_s"] / base
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
              "affinity": len(os.sched_getaffinity(0)), "load_average_1min": loads, "preset": "quick", "batch": 8,
              "steps": args.steps, "warmup": WARMUP, "configs": table, "lpips_256": lpips_share()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "train_fit.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
