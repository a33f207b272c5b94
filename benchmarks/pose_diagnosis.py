"""Where a swap's pose error comes from: the same trained model, decoder by decoder.

The score's pose error compares head poses read from landmarks through one generic 3D face. For a
model of benchmarks/quality.py (AOC -> Katie Hill) this merges and scores four uses of its weights:

  swap      AOC's decoder on Katie Hill's clip (what quality.py scores)
  reverse   Katie Hill's decoder on AOC's clip (the swap the other way)
  rebuild   each person's own decoder on their own clip (the model's reconstruction)

and splits each pose error per axis into a gain (degrees the result turns per degree of the real
head), a bias (a constant turn) and the residual once both are fitted: the part that is failing to
follow the head from frame to frame. A swap whose gain and bias invert when it runs the other way
(gain g one way, about 1/g the other; biases of opposite signs) shows a difference between the two
people's faces as read through the generic 3D face, which any swap between them carries; a residual
at the reconstruction's level shows the swap follows the head as well as the model draws the person.

Run: python benchmarks/pose_diagnosis.py --workspace W --model quality_quick128_30min_TAG [--keep]
Writes benchmarks/results/pose_diagnosis_<model>.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device
from faceswap.train.checkpoint import Checkpoint, TrainerState, load_checkpoint, save_checkpoint
from quality import DESTINATION, MEDIA, RESULTS, SCORE_EVERY, SOURCE, faceswap

# variant -> (decoder drawn for each decoder slot, clip merged, its face set, score's --src / --dst sets)
VARIANTS = {
    "swap": ((0, 1), DESTINATION, "dst", ("src", "dst")),
    "reverse": ((1, 0), SOURCE, "src", ("dst", "src")),
    "rebuild_src": ((0, 0), SOURCE, "src", ("src", "dst")),
    "rebuild_dst": ((1, 1), DESTINATION, "dst", ("dst", "src")),
}
AXES = ("yaw", "pitch", "roll")


def write_variant(workspace: Path, checkpoint: Checkpoint, slots: tuple[int, ...], registry: Registry) -> str:
    """A copy of ``checkpoint``'s model whose decoder slot k holds decoder ``slots[k]``: its folder name."""
    weights = {}
    for key, value in checkpoint.weights.items():
        if key.startswith("decoders."):
            _, index, rest = key.split(".", 2)
            value = checkpoint.weights[f"decoders.{slots[int(index)]}.{rest}"]
        weights[key] = value
    info = checkpoint.model_info
    model = registry.create("model", info["plugin"], info["options"], resolve_device("cpu"))
    model.load_state_dict(weights)
    variant = f"{info['name']}_decoders{''.join(map(str, slots))}"
    # merge loads a complete checkpoint; the optimiser of a copy that is never trained is a fresh one
    save_checkpoint(workspace / "models" / variant, {**info, "name": variant}, model,
                    torch.optim.AdamW(model.parameters()), TrainerState(iteration=checkpoint.state.iteration))
    return variant


def decompose(report: dict) -> dict:
    """Per axis: the report's mean |error| and gain (faceswap/score/summary.py), the constant of
    result = gain x real + constant, and the mean |residual| once both are taken out."""
    faces, pose = report["faces"], report["summary"]["pose_error"]
    real = np.array([f["pose_original"] for f in faces])
    result = real + np.array([f["axes_delta"] for f in faces])
    out = {"pose_error": round(float(pose["mean"]), 3), "faces": len(faces)}
    for axis, name in enumerate(AXES):
        gain = pose["gain"][axis] if pose["gain"] else None
        if gain is None:            # the real head barely moves on this axis: no slope to fit
            out[name] = {"error": pose["axes"][axis], "gain": None}
            continue
        constant = result[:, axis].mean() - gain * real[:, axis].mean()
        residual = result[:, axis] - (gain * real[:, axis] + constant)
        out[name] = {"error": pose["axes"][axis], "gain": gain, "bias": round(float(constant), 3),
                     "residual": round(float(np.abs(residual).mean()), 3),
                     "real_spread": round(float(real[:, axis].std()), 2)}
    return out


def _axis_line(axis: str, figures: dict) -> str:
    line = f"{axis} err {figures['error']:.2f}"
    if figures["gain"] is None:     # decompose found no slope: no constant or residual either
        return f"{line} (the head barely moves)"
    return f"{line} gain {figures['gain']:.2f} bias {figures['bias']:+.2f} resid {figures['residual']:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True, help="the workspace quality.py trained in")
    parser.add_argument("--model", required=True, help="model folder name in <workspace>/models/")
    parser.add_argument("--merge-arg", action="append", default=[], help="extra raw argument for faceswap merge")
    parser.add_argument("--keep", action="store_true",
                        help="keep the four model copies and their merged clips in the workspace (default: only the "
                             "score reports stay)")
    args = parser.parse_args()
    if not (args.workspace / "models" / args.model).is_dir():
        sys.exit(f"no model {args.workspace / 'models' / args.model}")
    registry = Registry.discover()
    checkpoint = load_checkpoint(args.workspace / "models" / args.model)
    figures = {}
    for label, (slots, clip, faceset, (src, dst)) in VARIANTS.items():
        variant = write_variant(args.workspace, checkpoint, slots, registry)
        swapped = args.workspace / "output" / f"{variant}.mp4"
        report = args.workspace / "output" / f"{variant}.report"
        faceswap(args.workspace, "merge", str(MEDIA / "video" / clip), "--faceset", faceset, "--model", variant,
                 "-o", str(swapped), "--no-report", *args.merge_arg)
        faceswap(args.workspace, "score", str(MEDIA / "video" / clip), str(swapped), "--src", src, "--dst", dst,
                 "--every", str(SCORE_EVERY), "-o", str(report))
        scored = json.loads((report / "report.json").read_text())
        if not args.keep:           # a copy is the model's size again; the report holds what was measured
            shutil.rmtree(args.workspace / "models" / variant)
            swapped.unlink(missing_ok=True)
        figures[label] = {"clip": clip, "decoders": list(slots), **decompose(scored)}
        row = figures[label]
        print(f"{label:12s} pose {row['pose_error']:.2f}  " + "  ".join(_axis_line(a, row[a]) for a in AXES[:2]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"pose_diagnosis_{args.model}.json"
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "model": args.model,
                               "merge_options": args.merge_arg, "variants": figures,
                               "reproduce": "python benchmarks/pose_diagnosis.py " + " ".join(sys.argv[1:])},
                              indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
