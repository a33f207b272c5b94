"""Ground truth of the face-visible mask: the face region the landmarks give, and user label polygons.

The face region is the ``extended`` hull: the convex hull of the 68 points with the brows raised
by FOREHEAD of the nose-bridge-to-chin length, over the forehead. Its known limits: hair that falls
over the forehead or cheeks counts as face, the ears and neck do not, and on a face turned far
aside the hull can reach past the silhouette. What is pasted over it (synthetic occluders) or
drawn by a user (exclude polygons) is subtracted.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from faceswap.faceset.schema import MaskLabel

FOREHEAD = 0.45             # same rule as the `extended` masker's default
BROWS = slice(17, 27)
NOSE_BRIDGE_TOP, CHIN = 27, 8
SUBPIXEL = 4                # fixed-point bits for anti-aliased polygon edges


def face_outline(points: np.ndarray, forehead: float = FOREHEAD) -> np.ndarray:
    """``(78, 2)`` the 68 points plus the brows raised over the forehead."""
    up = points[NOSE_BRIDGE_TOP] - points[CHIN]
    return np.concatenate([points, points[BROWS] + up * forehead])


def face_region(points: np.ndarray, size: int, forehead: float = FOREHEAD) -> np.ndarray:
    """``(size, size)`` float32 in [0, 1]: the hull of ``face_outline`` (anti-aliased edge)."""
    hull = cv2.convexHull(face_outline(points, forehead).astype(np.float32))[:, 0]
    return fill_polygons(size, [("include", hull)])


def fill_polygons(size: int, polygons: Sequence[tuple[str, np.ndarray]], start: np.ndarray | None = None) -> np.ndarray:
    """Paint ``(kind, (K, 2) points)`` polygons in order on ``start`` (default: all 0):
    include -> 1, exclude -> 0. Returns ``(size, size)`` float32 in [0, 1]."""
    canvas = np.zeros((size, size), np.float32) if start is None else start.astype(np.float32).copy()
    for kind, points in polygons:
        shape = np.zeros((size, size), np.uint8)
        fixed = np.round(np.asarray(points, np.float64) * (1 << SUBPIXEL)).astype(np.int32)
        cv2.fillPoly(shape, [fixed], 255, lineType=cv2.LINE_AA, shift=SUBPIXEL)
        alpha = shape.astype(np.float32) / 255.0
        canvas = canvas * (1 - alpha) + alpha * (1.0 if kind == "include" else 0.0)
    return canvas


def label_mask(labels: Sequence[MaskLabel], size: int) -> np.ndarray:
    """A face's user labels as a ``(size, size)`` float32 mask (label points in face pixels).

    As in XSeg, only what an include polygon covers is face; exclude polygons cut holes in it.
    """
    return fill_polygons(size, [(label.kind, label.points) for label in labels])
