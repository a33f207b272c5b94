"""Cost of SAE's architecture knobs (issue 10): samples/s of a training step of the `quick` preset
with and without each knob, at equal batch, measured in one run.

Configurations run in turns (round-robin, `--rounds` times) and each keeps the median of its
rounds, so load from other processes on shared cores falls on all of them alike: read the
ratios to `quick`, not the absolute figures. The step is the real one (AutoencoderStep with the
default losses, AdamW) on a fixed batch of real AOC / Katie Hill training samples at each
configuration's resolution; the loader's samples/s at 64 and 128 px is measured on its own
(double_res at 128 px needs 128 px samples). Also: swap (encode + decode) faces/s at batch 32.

Writes benchmarks/results/arch_knobs.json.
Run: OMP_NUM_THREADS=1 nice python benchmarks/arch_knobs.py [--rounds 3] [--steps 5] [--batch 8]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import CLIPS, extract_facesets  # noqa: E402  (benchmarks/train.py)

from faceswap.model_api import SOURCE_DECODER  # noqa: E402
from faceswap.options import build_options  # noqa: E402
from faceswap.registry import Registry  # noqa: E402
from faceswap.train.losses import LossConfig  # noqa: E402
from faceswap.train.samples import FacePairDataset, SampleConfig, make_loader  # noqa: E402
from faceswap.train.step import AutoencoderStep  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
KNOBS: dict[str, dict] = {
    "quick": {},
    "liae": {"archi": "liae"},
    "pixel_norm (-u)": {"pixel_norm": True},
    "double_res (-d) 64 px": {"double_res": True},
    "double_res + half_input 128 px": {"resolution": 128, "double_res": True, "half_input": True},
    "liae-ud + half_input 128 px": {"resolution": 128, "archi": "liae", "pixel_norm": True, "double_res": True,
                                    "half_input": True},
    "plain 128 px (reference)": {"resolution": 128},
}


class Config:
    """One model configuration, its optimiser and a fixed batch of real samples."""

    def __init__(self, values: dict, faces: dict, batch: int) -> None:
        plugin = Registry.discover().load("model", "sae")
        self.options = build_options(plugin.Options, {**plugin.PRESETS["quick"], **values}, "sae")
        torch.manual_seed(0)
        self.model = plugin(self.options)
        self.step = AutoencoderStep(self.model, LossConfig())
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=5e-4)
        dataset = FacePairDataset(faces["src"], faces["dst"], SampleConfig(self.options.resolution, 1.6), seed=0)
        self.batch = {side: {k: torch.as_tensor(v) for k, v in data.items()}
                      for side, data in next(iter(make_loader(dataset, batch, 0, workers=0))).items()}
        self.times: list[float] = []
        self.swap_times: list[float] = []

    def train_step(self) -> None:
        loss = sum(self.step(self.batch, 1).values())
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def flops_per_sample(self) -> float:
        with FlopCounterMode(display=False) as counter:
            self.train_step()
        return counter.get_total_flops() / (2 * self.batch["src"]["input"].shape[0])

    def time_steps(self, steps: int) -> None:
        started = time.perf_counter()
        for _ in range(steps):
            self.train_step()
        self.times.append((time.perf_counter() - started) / steps)

    @torch.no_grad()
    def time_swap(self, faces: int = 32) -> None:
        x = self.batch["dst"]["target"].repeat(faces // self.batch["dst"]["target"].shape[0] + 1, 1, 1, 1)[:faces]
        self.model.eval()
        started = time.perf_counter()
        self.model.decode(self.model.encode(x).code, SOURCE_DECODER)
        self.swap_times.append(faces / (time.perf_counter() - started))
        self.model.train()


def loader_speed(faces: dict, resolution: int, batches: int = 20) -> float:
    dataset = FacePairDataset(faces["src"], faces["dst"], SampleConfig(resolution, 1.6), seed=0)
    loader = iter(make_loader(dataset, 8, 0, workers=0))
    next(loader)
    started = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * 16 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="turns of every configuration")
    parser.add_argument("--steps", type=int, default=5, help="training steps per configuration per turn")
    parser.add_argument("--batch", type=int, default=8, help="faces per identity per step (equal for all)")
    parser.add_argument("--workspace", type=Path, help="where to extract the face sets [a temporary folder]")
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="arch_knobs_"))
    extract_facesets(workspace, every=25)
    faces = {side: sorted((workspace / "facesets" / side / "faces").glob("*.png")) for side in CLIPS}
    configs = {name: Config(values, faces, args.batch) for name, values in KNOBS.items()}
    flops = {name: c.flops_per_sample() for name, c in configs.items()}
    for _ in range(args.rounds):
        for config in configs.values():
            config.train_step()                         # warm (allocator, caches) before each timed turn
            config.time_steps(args.steps)
            config.time_swap()
    base = statistics.median(configs["quick"].times)
    base_swap = statistics.median(configs["quick"].swap_times)
    rows = {}
    for name, c in configs.items():
        step = statistics.median(c.times)
        rows[name] = {"options": KNOBS[name], "resolution": c.options.resolution,
                      "params_M": round(sum(p.numel() for p in c.model.parameters()) / 1e6, 3),
                      "gflop_per_sample": round(flops[name] / 1e9, 3),
                      "samples_per_s": round(2 * args.batch / step, 2), "vs_quick": round(base / step, 3),
                      "swap_faces_per_s": round(statistics.median(c.swap_times), 1),
                      "swap_vs_quick": round(statistics.median(c.swap_times) / base_swap, 3)}
        print(f"{name:32s} {rows[name]['samples_per_s']:7.2f} samples/s  x{rows[name]['vs_quick']:.2f}  "
              f"{rows[name]['gflop_per_sample']:6.2f} GFLOP/sample  {rows[name]['params_M']:6.2f} M params  "
              f"swap x{rows[name]['swap_vs_quick']:.2f}")
    loader = {f"{r}px": round(loader_speed(faces, r), 1) for r in (64, 128)}
    print(f"loader samples/s (1 process): {loader}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "arch_knobs.json"
    out.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "load_average": os.getloadavg(), "batch": args.batch,
        "rounds": args.rounds, "steps": args.steps, "knobs": rows, "loader_samples_per_s": loader,
    }, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
