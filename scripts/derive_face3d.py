"""Derive the generic 3D face in faceswap/align/face3d.py from real 2D landmarks.

Structure from motion (Tomasi-Kanade factorisation under scaled orthography): the 68
landmarks of thousands of real faces, seen at many head poses, are stacked into one
matrix whose best rank-3 factorisation is (camera rows) x (3D shape). The metric
upgrade makes every frame's two camera rows orthogonal and of equal length; the shape
is then rotated onto the frontal 2D template, made left-right symmetric and scaled to
template units (inner-face width 1). Depth sign: the nose tip points at the viewer
(negative z, so x right, y down, z away from the viewer is a right-handed frame).

Data: every 3rd frame of the shared media videos (AOC and Katie Hill excluded: they are
the evaluation pair) and every photo, scrfd + 2d106 landmarks.
Run: python scripts/derive_face3d.py   (prints the table to paste into face3d.py)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from faceswap.align.template import MIRROR_68, TEMPLATE_68
from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.extract.tracking import FaceFinder
from faceswap.media.image import is_image_file, read_image
from faceswap.media.video import open_source
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
HELD_OUT = ("aoc__", "katie_hill__")


def collect() -> np.ndarray:
    """(F, 68, 2) landmarks of every face found."""
    plugins = build_extract_plugins(Registry.discover(), ExtractChoice(identity=None), {}, resolve_device("cpu"))
    shapes = []
    for clip in sorted((MEDIA / "video").glob("*.mp4")):
        if clip.name.startswith(HELD_OUT):
            continue
        finder = FaceFinder(plugins, min_size=60, max_faces=1)
        for frame in open_source(clip).frames(every=3):
            shapes += [f.landmarks.points for f in finder.find(frame.image)]
    for photo in sorted((MEDIA / "photos").rglob("*")):
        if is_image_file(photo):
            shapes += [f.landmarks.points for f in FaceFinder(plugins, 40, 1).find(read_image(photo))]
    return np.asarray(shapes, np.float64)


def factorise(shapes: np.ndarray) -> np.ndarray:
    """(68, 3) metric shape from (F, 68, 2) views, up to a rotation and reflection."""
    centred = shapes - shapes.mean(1, keepdims=True)
    scale = np.sqrt((centred ** 2).sum((1, 2), keepdims=True))
    centred = centred / scale                        # every face counts the same
    w = centred.transpose(0, 2, 1).reshape(-1, 68)   # rows: x0, y0, x1, y1, ...
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    motion = u[:, :3] * np.sqrt(s[:3])
    shape = np.sqrt(s[:3])[:, None] * vt[:3]
    gram = _metric_gram(motion[0::2], motion[1::2])
    q = np.linalg.cholesky(gram)
    return (np.linalg.inv(q) @ shape).T


def _metric_gram(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Symmetric L with x L x' = y L y' and x L y' = 0 for every view (least squares)."""
    def row(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.stack([a[:, 0] * b[:, 0], a[:, 0] * b[:, 1] + a[:, 1] * b[:, 0], a[:, 0] * b[:, 2] + a[:, 2] * b[:, 0],
                         a[:, 1] * b[:, 1], a[:, 1] * b[:, 2] + a[:, 2] * b[:, 1], a[:, 2] * b[:, 2]], 1)
    system = np.vstack([row(xs, xs) - row(ys, ys), row(xs, ys), row(xs[:1], xs[:1])])
    target = np.zeros(len(system))
    target[-1] = 1.0
    a, b, c, d, e, f = np.linalg.lstsq(system, target, rcond=None)[0]
    return np.array([[a, b, c], [b, d, e], [c, e, f]])


def to_template_frame(shape: np.ndarray) -> np.ndarray:
    """Rotate (and reflect if needed) so x, y match the frontal template; symmetrise; scale."""
    best = None
    for flip in (1.0, -1.0):
        candidate = shape * [1.0, 1.0, flip]
        rotation = _rotation_onto(candidate, TEMPLATE_68)
        rotated = candidate @ rotation.T
        error = np.linalg.norm(rotated[:, :2] / _width(rotated) - TEMPLATE_68)
        if best is None or error < best[0]:
            best = (error, rotated)
    rotated = best[1]
    if rotated[30, 2] > rotated[:, 2].mean():        # nose tip towards the viewer: negative z
        rotated = rotated * [1.0, 1.0, -1.0]
    mirrored = rotated[MIRROR_68] * [-1.0, 1.0, 1.0]
    symmetric = (rotated + mirrored) / 2
    inner = symmetric[17:, :2]
    centre = np.r_[(inner.min(0) + inner.max(0)) / 2, symmetric[:, 2].mean()]
    return (symmetric - centre) / _width(symmetric)


def _rotation_onto(shape: np.ndarray, template_2d: np.ndarray) -> np.ndarray:
    """Rotation R (3x3) making (shape @ R.T)[:, :2] best match the template (orthogonal Procrustes)."""
    target = np.c_[template_2d, np.zeros(len(template_2d))]
    a = shape - shape.mean(0)
    b = target - target.mean(0)
    u, _, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def _width(shape: np.ndarray) -> float:
    inner = shape[17:, 0]
    return float(inner.max() - inner.min())


if __name__ == "__main__":
    views = collect()
    face = to_template_frame(factorise(views))
    print(f"# from {len(views)} faces", file=sys.stderr)
    for i in range(0, 68, 3):
        print("    " + " ".join(f"({x:+.4f}, {y:+.4f}, {z:+.4f})," for x, y, z in face[i:i + 3]))
