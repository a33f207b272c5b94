"""Swap quality of a training budget, by a fixed protocol anyone can rerun.

Source AOC (aoc__hdtf_wda_000.mp4), destination Katie Hill (katie_hill__hdtf_wda_000.mp4): two
people no weights this project ships were built from. The steps are the user's own commands:
extract both clips (every frame), train a fresh model for the budget, merge the destination
clip, score the result against it (a run of 3 frames every 5 frames: 40 runs), and measure the
pixel-period texture of the model's swaps (benchmarks/pixel_grid.py: "grid", 1.0 as the real faces). Writes
benchmarks/results/quality_<preset>_<budget>.json (machine, budget, iterations, every metric)
and the last training preview beside it.

Run: python benchmarks/quality.py --minutes 30 [--preset quick128] [--workspace DIR] [-O model.KEY=VALUE ...]
Merge settings of a trained model: the same command with --merge-only TAG --merge-arg=--sharpen --merge-arg=0.5
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from faceswap.merge.sharpen import DEFAULT_AMOUNT as DEFAULT_SHARPEN
from pixel_grid import grid_figure

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("FACESWAP_TEST_MEDIA", ROOT.parent / "shared" / "media"))
RESULTS = ROOT / "benchmarks" / "results"
SOURCE = "aoc__hdtf_wda_000.mp4"
DESTINATION = "katie_hill__hdtf_wda_000.mp4"
SCORE_EVERY = 5


def faceswap(workspace: Path, *args: str) -> str:
    """Run one faceswap command as a user would; its output, or exit with it on failure."""
    command = [sys.executable, "-m", "faceswap", "--workspace", str(workspace), *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    except OSError:
        return platform.processor()


def train(workspace: Path, name: str, args: argparse.Namespace) -> tuple[str, float]:
    """Train model ``name`` for the budget (or keep it, --merge-only): its last output line and seconds."""
    if args.merge_only:
        if not (workspace / "models" / name / "trainer.json").is_file():
            sys.exit(f"--merge-only: no trained model {workspace / 'models' / name}")
        previous = RESULTS / f"{name}.json"
        if previous.is_file():
            result = json.loads(previous.read_text())
            return result["train_output"], result["train_seconds"]
        return "", 0.0
    if not args.resume:
        shutil.rmtree(workspace / "models" / name, ignore_errors=True)
    limit = ["--minutes", str(args.minutes)] if args.minutes else ["--iters", str(args.iters)]
    overrides = [arg for value in args.overrides for arg in ("-O", value)]
    started = time.perf_counter()
    output = faceswap(workspace, "train", "--name", name, "--preset", args.preset, "--seed", "0", *limit,
                      *overrides, *args.train_arg)
    return output.strip().splitlines()[-1], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--minutes", type=float, help="training budget in wall-clock minutes")
    budget.add_argument("--iters", type=int, help="training budget in iterations")
    parser.add_argument("--preset", default="quick128", help="model preset [quick128, the default of a new model]")
    parser.add_argument("--workspace", type=Path, help="reuse this workspace (face sets are extracted once)")
    parser.add_argument("--tag", default="", help="suffix for the result file name (e.g. the knob tried)")
    parser.add_argument("-O", "--option", dest="overrides", action="append", default=[],
                        help="extra training option passed to faceswap train (repeatable)")
    parser.add_argument("--train-arg", action="append", default=[], help="extra raw argument for faceswap train")
    parser.add_argument("--resume", action="store_true", help="continue a killed run of the same budget")
    parser.add_argument("--merge-arg", action="append", default=[], help="extra raw argument for faceswap merge")
    parser.add_argument("--merge-only", metavar="TAG",
                        help="train nothing: merge and score the model this budget and --tag trained before, with "
                             "--merge-arg, writing the result with _TAG added to its name")
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="faceswap-quality-"))
    video = MEDIA / "video"
    for name, clip in (("src", SOURCE), ("dst", DESTINATION)):
        if not (workspace / "facesets" / name / "faceset.json").is_file():
            faceswap(workspace, "extract", str(video / clip), "--name", name)
    budget = f"{args.minutes:g}min" if args.minutes else f"{args.iters}it"
    name = f"quality_{args.preset}_{budget}{'_' + args.tag if args.tag else ''}"
    trained, train_seconds = train(workspace, name, args)
    result_name = f"{name}_{args.merge_only}" if args.merge_only else name
    swapped = workspace / "output" / f"{result_name}.mp4"
    started = time.perf_counter()
    faceswap(workspace, "merge", str(video / DESTINATION), "--faceset", "dst", "--model", name, "-o", str(swapped),
             "--no-report", *args.merge_arg)
    merge_seconds = time.perf_counter() - started
    report_dir = workspace / "output" / f"{result_name}.report"
    faceswap(workspace, "score", str(video / DESTINATION), str(swapped), "--src", "src", "--dst", "dst",
             "--every", str(SCORE_EVERY), "-o", str(report_dir))
    report = json.loads((report_dir / "report.json").read_text())
    grid = grid_figure(workspace, name, video / DESTINATION, "dst")
    trainer = json.loads((workspace / "models" / name / "trainer.json").read_text())
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "processor": cpu_model(),
        "cores": os.cpu_count(), "source": SOURCE, "destination": DESTINATION, "preset": args.preset,
        "budget": {"minutes": args.minutes, "iters": args.iters}, "options": args.overrides + args.train_arg,
        "merge_options": args.merge_arg, "merge_sharpen_default": DEFAULT_SHARPEN,
        "iterations": trainer["iteration"], "train_seconds": round(train_seconds, 1),
        "train_step_seconds": round(trainer.get("seconds", 0.0), 1), "merge_seconds": round(merge_seconds, 1),
        "train_output": trained, "score_every": SCORE_EVERY,
        "headline": report["headline"], "grid": round(grid, 3), "summary": report["summary"],
        "faces_scored": report["faces_scored"],
        "reproduce": "python benchmarks/quality.py " + " ".join(sys.argv[1:]),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{result_name}.json").write_text(json.dumps(result, indent=2) + "\n")
    previews = sorted((workspace / "models" / name / "previews").glob("iter_*.png"))
    if previews and not args.merge_only:
        shutil.copy(previews[-1], RESULTS / f"{name}.png")
    print(f"{result_name}: {result['iterations']} iterations in {train_seconds / 60:.1f} min; {report['headline']}, "
          f"grid {grid:.2f}")


if __name__ == "__main__":
    main()
