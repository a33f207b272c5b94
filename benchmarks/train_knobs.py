"""Which training knobs make an early swap follow the destination, at equal iterations (issue 10).

Trains the `quick` sae from scratch on AOC (source) and Katie Hill (destination) face sets with one
knob changed per variant, the same seed and sample order, and after each checkpoint of the
schedule measures, on 32 fixed destination faces:
- variation: the per-pixel spread of the swaps across faces over that of the input faces (a model
  that outputs one average face scores ~0; one that follows pose and expression approaches 1);
- grid: the 2-pixel checkerboard energy of the swaps over that of real faces (pixel-shuffle texture);
- sharpness: Laplacian RMS of the swaps over the real faces' (inflated by grid texture);
- cos_src / cos_dst / closer_src: the score's identity (dlib ResNet, centred) of the swaps to each
  person's mean; rec_l1: the destination's own reconstruction error.
Appends one JSON line per (variant, iterations) to benchmarks/results/train_knobs.jsonl and writes
the preview grids beside it (kept local: swapped faces of real people).

Run: python benchmarks/train_knobs.py --facesets W/facesets [VARIANT ...] [--iters 100,200,400]
(W: a workspace where benchmarks/quality.py extracted `src` and `dst`).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap.align.template import template_pixels
from faceswap.media.image import write_image
from faceswap.options import build_options
from faceswap.registry import Registry
from faceswap.score.identity import ScoreEmbedder, unit_mean
from faceswap.train.losses import LossConfig
from faceswap.train.optimizers import UpdateDropout, make_optimizer
from faceswap.train.preview import preview_grid
from faceswap.train.samples import FacePairDataset, SampleConfig, make_loader
from faceswap.train.session import preview_faces
from faceswap.train.step import AutoencoderStep, to_device
from pixel_grid import inner_face                    # a sibling script module (benchmarks/)

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
DFL_LOSS = {"pixel": "mse", "pixel_weight": 10, "dssim_weight": 10, "priority_weight": 0, "mask_weight": 10}

# Each variant changes the defaults (lr 5e-5, AdamW, clip 1.0, Xavier/ICNR init) by what it names.
VARIANTS: dict[str, dict] = {
    "torch_init": {"model": {"init": "torch"}},
    "base": {},
    "lr5e-4": {"lr": 5e-4},
    "adabelief": {"optimizer": "adabelief"},
    "lr5e-4_adabelief": {"lr": 5e-4, "optimizer": "adabelief"},
    "lr5e-4_noclip": {"lr": 5e-4, "clip": 0.0},
    "lr5e-4_lr_dropout": {"lr": 5e-4, "lr_dropout": 0.3},
    "lr5e-4_dfl_loss": {"lr": 5e-4, "loss": DFL_LOSS},
    "lr5e-4_zoom15": {"lr": 5e-4, "sample": {"scale": 0.15}},
    "lr5e-4_mask_margin": {"lr": 5e-4, "loss": {"mask_margin": 0.05, "mask_blur": 0.03}},
}


def checker(grey: torch.Tensor) -> torch.Tensor:
    return (grey[:, 0::2, 0::2] + grey[:, 1::2, 1::2] - grey[:, 0::2, 1::2] - grey[:, 1::2, 0::2]).abs().mean()


def laplacian_rms(grey: torch.Tensor) -> float:
    return float(np.sqrt(np.mean([cv2.Laplacian(x, cv2.CV_32F) ** 2 for x in grey.numpy()])))


def embed(batch: torch.Tensor, embedder: ScoreEmbedder) -> np.ndarray:
    """Identity vectors of model-space faces (upscaled to the chip size the embedder expects)."""
    res = batch.shape[-1]
    points = template_pixels(res, 1.6) * (256 / res)
    chips = [embedder.chip(cv2.resize((t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), (256, 256),
                                      interpolation=cv2.INTER_CUBIC), points) for t in batch]
    return embedder.embed_chips(chips)


@torch.no_grad()
def evaluate(model, dst: torch.Tensor, embedder: ScoreEmbedder, refs: tuple[np.ndarray, np.ndarray]) -> dict:
    model.eval()
    swap, _ = model.decode(model.encode(dst).code, 0)
    rec, _ = model.decode(model.encode(dst).code, 1)
    model.train()
    res = swap.shape[-1]
    inside = torch.from_numpy(inner_face(res, 1.6))
    vectors = embed(swap, embedder)
    cos_src, cos_dst = vectors @ refs[0], vectors @ refs[1]
    return {"variation": float(swap.std(0)[:, inside].mean() / dst.std(0)[:, inside].mean()),
            "grid": float(checker(swap.mean(1)) / checker(dst.mean(1))),
            "sharpness": laplacian_rms(swap.mean(1)) / laplacian_rms(dst.mean(1)),
            "cos_src": float(cos_src.mean()), "cos_dst": float(cos_dst.mean()),
            "closer_src": float((cos_src > cos_dst).mean()), "rec_l1": float((rec - dst).abs().mean())}


def run(name: str, spec: dict, schedule: list[int], facesets: Path, seed: int = 0) -> list[dict]:
    torch.manual_seed(seed)
    plugin = Registry.discover().load("model", "sae")
    model = plugin(build_options(plugin.Options, {**plugin.PRESETS["quick"], **spec.get("model", {})}, "sae"))
    step = AutoencoderStep(model, build_options(LossConfig, spec.get("loss", {}), "loss"))
    optimizer = make_optimizer(spec.get("optimizer", "adamw"), model.parameters(), spec.get("lr", 5e-5))
    config = build_options(SampleConfig, {"resolution": 64, "coverage": 1.6, **spec.get("sample", {})}, "sample")
    paths = {side: sorted((facesets / side / "faces").glob("*.png")) for side in ("src", "dst")}
    batches = iter(make_loader(FacePairDataset(paths["src"], paths["dst"], config, seed), 8, 0, workers=1))
    src_eval, dst_eval = preview_faces(paths["src"], paths["dst"], SampleConfig(64, 1.6), count=32)
    embedder = ScoreEmbedder()
    refs = (unit_mean(embed(src_eval, embedder)), unit_mean(embed(dst_eval, embedder)))
    results, iteration, started = [], 0, time.perf_counter()
    for target in schedule:
        while iteration < target:
            terms = step(to_device(next(batches), torch.device("cpu")), iteration)
            optimizer.zero_grad()
            sum(terms.values()).backward()
            if spec.get("clip", 1.0):
                torch.nn.utils.clip_grad_norm_(model.parameters(), spec.get("clip", 1.0))
            with UpdateDropout(model.parameters(), spec.get("lr_dropout", 0.0), seed * 1_000_003 + iteration):
                optimizer.step()
            iteration += 1
        row = {"variant": name, "iter": iteration, "seconds": round(time.perf_counter() - started, 1),
               **evaluate(model, dst_eval, embedder, refs)}
        print(json.dumps(row), flush=True)
        results.append(row)
        write_image(RESULTS / "train_knobs" / f"{name}_{iteration}.png", preview_grid(model, src_eval[:4], dst_eval[:4]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=list(VARIANTS), help=f"of: {', '.join(VARIANTS)}")
    parser.add_argument("--facesets", type=Path, required=True, help="folder holding the src and dst face sets")
    parser.add_argument("--iters", default="100,200,400", help="iterations at which to measure")
    args = parser.parse_args()
    torch.set_num_threads(1)            # the machine is shared: one thread gives steadier figures
    (RESULTS / "train_knobs").mkdir(parents=True, exist_ok=True)
    for variant in args.variants:
        rows = run(variant, VARIANTS[variant], [int(x) for x in args.iters.split(",")], args.facesets)
        with open(RESULTS / "train_knobs.jsonl", "a", encoding="utf-8") as out:
            out.writelines(json.dumps(row) + "\n" for row in rows)


if __name__ == "__main__":
    main()
