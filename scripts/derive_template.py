"""Derive the canonical 68-point template in faceswap/align/template.py from real faces.

Runs both built-in landmarkers on frontal talking-head frames from the shared media,
aligns every face to the running mean with Umeyama (generalised Procrustes), mirrors
to make it symmetric, and prints the mean in template units (inner points' bounding
box centred on 0, width 1). Run: python scripts/derive_template.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from faceswap.align.template import MIRROR_68
from faceswap.align.umeyama import apply, umeyama
from faceswap.media.video import open_source
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "video"
CLIPS = ["aoc__hdtf_wda_000.mp4", "katie_hill__hdtf_wda_000.mp4", "obama__weekly_address.mp4",
         "young_woman__liveportrait_d10.mp4", "man_glasses__liveportrait_d9.mp4"]


def collect() -> list[np.ndarray]:
    registry, device = Registry.discover(), resolve_device("cpu")
    detector = registry.create("detector", "scrfd", {}, device)
    landmarkers = [registry.create("landmarker", n, {}, device) for n in ("2d106", "facemesh")]
    shapes = []
    for clip in CLIPS:
        for frame in open_source(MEDIA / clip).frames(every=20):
            dets = detector.detect([frame.image])
            for lm in landmarkers:
                shapes += [l.points for l in lm.landmarks([frame.image], dets)[0]]
    return shapes


def mean_shape(shapes: list[np.ndarray]) -> np.ndarray:
    mean = shapes[0].astype(np.float64)
    for _ in range(10):
        aligned = [apply(umeyama(s[17:], mean[17:]), s) for s in shapes]
        mean = np.mean(aligned, axis=0)
        mirrored = mean[MIRROR_68] * [-1, 1]
        mirrored = apply(umeyama(mirrored, mean), mirrored)
        mean = (mean + mirrored) / 2
    for _ in range(3):   # exact left-right symmetry about x = 0, then normalise
        inner = mean[17:]
        lo, hi = inner.min(0), inner.max(0)
        mean = (mean - (lo + hi) / 2) / (hi[0] - lo[0])
        mean = (mean + mean[MIRROR_68] * [-1, 1]) / 2
    return mean


if __name__ == "__main__":
    shapes = collect()
    print(f"# from {len(shapes)} faces", file=sys.stderr)
    template = mean_shape(shapes)
    for i in range(0, 68, 4):
        print("    " + " ".join(f"({x:+.4f}, {y:+.4f})," for x, y in template[i:i + 4]))
