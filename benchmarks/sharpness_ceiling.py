"""The best sharpness score a model of a given output size can reach, whatever its training.

The score's sharpness (Laplacian RMS of the swapped face over the original's, in a 256 px crop)
cannot exceed what survives a round trip of the *real* face through the model's output size:
downscale the original crop to N px, upscale it back the way merge pastes it, measure. This
prints that ceiling for several output sizes on the quality benchmark's destination clip, so a
sharpness figure can be read against what its resolution allows.

Run: python benchmarks/sharpness_ceiling.py [--workspace DIR] [--every 5]
Writes benchmarks/results/sharpness_ceiling.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np

from faceswap.faceset.store import FaceSet
from faceswap.merge.pipeline import faces_by_frame
from faceswap.score import measures

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from quality import DESTINATION, MEDIA, RESULTS  # noqa: E402

SIZES = (64, 96, 128, 192)
UPSCALERS = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}


def landmarks_by_frame(workspace: Path, video: Path) -> dict[int, np.ndarray]:
    faceset = FaceSet(workspace / "facesets" / "dst")
    if not faceset.exists():
        subprocess.run([sys.executable, "-m", "faceswap", "--workspace", str(workspace), "extract", str(video),
                        "--name", "dst"], check=True)
    return {frame: np.asarray(records[0].landmarks, np.float64) for frame, records in faces_by_frame(faceset).items()}


def round_trip_ratios(crop: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    real = measures.high_frequency(crop, mask)
    ratios = {}
    for size in SIZES:
        small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        for name, flag in UPSCALERS.items():
            back = cv2.resize(small, crop.shape[1::-1], interpolation=flag)
            ratios[f"{size}px_{name}"] = measures.high_frequency(back, mask) / max(real, 1e-6)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="workspace holding the 'dst' face set (extracted if missing)")
    parser.add_argument("--every", type=int, default=5, help="measure one frame in this many")
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="faceswap-ceiling-"))
    video = MEDIA / "video" / DESTINATION
    points = landmarks_by_frame(workspace, video)
    rows: list[dict[str, float]] = []
    for index, frame in enumerate(iio.imiter(video)):
        if index % args.every or index not in points:
            continue
        region = measures.face_region(points[index])
        rows.append(round_trip_ratios(region.crop(frame), region.mask))
    ceiling = {key: round(float(np.mean([row[key] for row in rows])), 3) for key in rows[0]}
    for key, value in ceiling.items():
        print(f"{key:>14}: sharpness ceiling {value:.3f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sharpness_ceiling.json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M"), "video": DESTINATION, "frames": len(rows),
        "score_crop": measures.CROP_SIZE, "ceiling": ceiling}, indent=2) + "\n")


if __name__ == "__main__":
    main()
