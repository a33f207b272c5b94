"""Pixel-period texture of a trained model's swaps: the checkerboard and stripes a pixel-shuffle decoder can draw.

The score's sharpness (Laplacian RMS) rises with real detail and with false texture alike. This
figure tells them apart: in the model's own crop, the power at the 2-pixel period (the spectrum's
Nyquist rows and columns) over the power at the 4-pixel period, for the swapped faces, divided by
the same ratio for the real faces they replace. A natural face's spectrum falls smoothly, so 1.0
is "as natural as the real face", below 1 is softer, and a pixel grid stands out above 1.

Run: python benchmarks/pixel_grid.py WORKSPACE MODEL VIDEO --faceset dst
(benchmarks/quality.py reports it as "grid" for every run.)
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from faceswap.align.template import face_matrix, template_pixels
from faceswap.align.warp import warp_to_face
from faceswap.faceset.store import FaceSet
from faceswap.media.video import open_source
from faceswap.merge.swapper import FaceSwapper
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device


def period_power_ratio(grey: np.ndarray, inside: np.ndarray) -> float:
    """Power in the 2-pixel-period band over the 4-pixel-period band of a (N, N) face inside its mask."""
    size = grey.shape[0]
    values = np.where(inside, grey - grey[inside].mean(), 0.0) * np.outer(np.hanning(size), np.hanning(size))
    power = np.abs(np.fft.fftshift(np.fft.fft2(values))) ** 2
    centre = size // 2
    radius = np.hypot(*np.meshgrid(np.arange(size) - centre, np.arange(size) - centre, indexing="ij"))
    axis_distance = np.maximum(np.abs(np.arange(size) - centre)[:, None], np.abs(np.arange(size) - centre)[None, :])
    nyquist = power[axis_distance >= centre - 1].sum()           # the outermost rows and columns
    quarter = power[np.abs(radius - size / 4) <= 1].mean() * (axis_distance >= centre - 1).sum()
    return float(nyquist / max(quarter, 1e-12))


def inner_face(res: int, coverage: float) -> np.ndarray:
    """(res, res) bool: the template's face hull in a res-px crop, eroded 2 px off its edge."""
    hull = np.zeros((res, res), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(template_pixels(res, coverage).astype(np.int32)), 1)
    return cv2.erode(hull, np.ones((5, 5), np.uint8)).astype(bool)


def grid_figure(workspace: Path, model: str, video: Path, faceset: str, every: int = 10) -> float:
    """The mean over every ``every``-th face of swap ratio / real ratio (see the module's docstring)."""
    swapper = FaceSwapper(workspace / "models" / model, Registry.discover(workspace / "plugins"), resolve_device("cpu"),
                          engine="torch")
    res, coverage = swapper.resolution, swapper.coverage
    inside = inner_face(res, coverage)
    records = {r.frame_index: r for _, r in FaceSet(workspace / "facesets" / faceset).records()}
    ratios = []
    for frame in open_source(video).frames():
        record = records.get(frame.index)
        if record is None or frame.index % every:
            continue
        # the real face at twice the model's size, then area-averaged: no aliasing of its own
        crop = warp_to_face(frame.image, face_matrix(record.landmarks, 2 * res, coverage), 2 * res)
        real = cv2.resize(crop, (res, res), interpolation=cv2.INTER_AREA)
        swapped, _ = swapper.swap(real[None])
        grey_real = cv2.cvtColor(real, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0
        grey_swap = cv2.cvtColor((swapped[0] * 255).astype(np.float32), cv2.COLOR_RGB2GRAY).astype(np.float64) / 255
        ratios.append(period_power_ratio(grey_swap, inside) / period_power_ratio(grey_real, inside))
    return float(np.mean(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("model")
    parser.add_argument("video", type=Path)
    parser.add_argument("--faceset", required=True)
    args = parser.parse_args()
    print(f"grid {grid_figure(args.workspace, args.model, args.video, args.faceset):.2f} (1.0: as the real faces)")


if __name__ == "__main__":
    main()
