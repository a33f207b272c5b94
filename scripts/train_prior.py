"""Rebuild a face prior that ships with the `sae` model (plugins/model/priors/sae_<preset>.safetensors).

Data: every face the default extraction finds in ../shared/media EXCEPT the evaluation pair
(AOC: aoc__*.mp4, Katie Hill: katie_hill__*.mp4): the other videos (every 2nd frame) and
every photo folder (photos/<person>/, group/). Training: `faceswap train --pretrain` with the
preset (lr 5e-4, cosine schedule): `quick` from scratch; `quick128` from the shipped quick prior,
grown to 128 px (double_res + half_input start as quick's answers, upscaled). Then the checkpoint
is written as fp16 safetensors with its description in the metadata. Put the printed sha256 into
SaeModel.PRIORS. The shipped quick file: 1600 iterations, 51 min on 2 shared CPU cores; quick128:
2500 iterations from it, 28 min on 2 quiet cores (1.5 iterations/s, 16 faces each), then 3000 more
from that file (--init it; a new cosine cycle), 30 min on 2 cores beside a test run.

Run: python scripts/train_prior.py --workspace DIR [--preset quick|quick128] [--iters 1600] [--init PRIOR]
     [--extract-only]
The shipped quick128 file: --preset quick128 --iters 2500, then --preset quick128 --iters 3000
--init plugins/model/priors/sae_quick128.safetensors (its metadata's "rebuild" names both steps).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "media"
HELD_OUT = ("aoc__", "katie_hill__")
PRIORS = ROOT / "plugins" / "model" / "priors"
# quick128 starts from the shipped quick prior, grown to 128 px (named, not 'auto': auto now means quick128's own)
INIT = {"quick": "none", "quick128": "plugins/model/priors/sae_quick.safetensors"}


def faceswap(workspace: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "faceswap", "--workspace", str(workspace), *args], check=True)


def sources() -> dict[str, tuple[Path, list[str]]]:
    """{face set name: (video or folder, extra extract arguments)} of everything but the held-out pair."""
    found: dict[str, tuple[Path, list[str]]] = {}
    for clip in sorted((MEDIA / "video").glob("*.mp4")):
        if not clip.name.startswith(HELD_OUT):
            found[clip.stem] = (clip, ["--every", "2"])
    for folder in sorted((MEDIA / "photos").iterdir()):
        found[f"photos_{folder.name}"] = (folder, [])
    found["group"] = (MEDIA / "group", [])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--preset", choices=sorted(INIT), default="quick")
    parser.add_argument("--iters", type=int, default=1600)
    parser.add_argument("--init", help="start from this prior file instead of the preset's start (quick: none; "
                                       "quick128: the shipped quick prior, grown), e.g. to train a shipped one further")
    parser.add_argument("--extract-only", action="store_true")
    parser.add_argument("--describe-only", action="store_true", help="write the prior file of a trained model again")
    parser.add_argument("--train-arg", action="append", default=[], help="extra argument for faceswap train")
    args = parser.parse_args()
    names = []
    for name, (source, extra) in sources().items():
        if not (args.workspace / "facesets" / name / "faceset.json").is_file():
            try:
                faceswap(args.workspace, "extract", str(source), "--name", name, *extra)
            except subprocess.CalledProcessError:
                print(f"skipped {source}: no face extracted", file=sys.stderr)
                continue
        names.append(name)
    if args.extract_only:
        return
    faces = [arg for name in names for arg in ("--faces", name)]
    # every face mirrored and none pose-warped, as the shipped priors were trained (quick128's pair training now
    # mirrors only the destination side and warps pitch)
    training = ["--lr", "5e-4", "--lr-schedule", "cosine", "--iters", str(args.iters), "--seed", "0",
                "-O", "sample.src_flip=true", "-O", "sample.pose_warp=0", *args.train_arg]
    model, init = f"prior-{args.preset}", args.init or INIT[args.preset]

    def command(init_arg: str) -> list[str]:
        return ["--pretrain", "--preset", args.preset, "--init", init_arg, *training]

    if not args.describe_only:      # the run names the prior by its path here; the file records it from ROOT
        run_init = init if init == "none" else str((ROOT / init).resolve())
        faceswap(args.workspace, "train", *faces, "--name", model, *command(run_init))
    from faceswap.train.prior import write_prior_file

    out = PRIORS / f"sae_{args.preset}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    rebuild = f"python scripts/train_prior.py --workspace DIR --preset {args.preset} --iters {args.iters}" + (
        f" --init {args.init}" if args.init else "") + "".join(f" --train-arg={arg}" for arg in args.train_arg)
    if args.init and args.init != "none":      # training a shipped prior further: its own recipe comes first
        from safetensors import safe_open

        with safe_open(str(ROOT / args.init), "pt") as earlier:
            rebuild = f"{(earlier.metadata() or {}).get('rebuild', args.init)}; then {rebuild}"
    digest = write_prior_file(args.workspace / "models" / model, out, {
        "data": f"faceswap default extraction of ../shared/media except {', '.join(HELD_OUT)}: "
                f"{len(names)} face sets ({', '.join(names)})",
        "training": "faceswap train " + " ".join(command(init)),
        "rebuild": rebuild,
    })
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB) sha256 {digest}")


if __name__ == "__main__":
    main()
