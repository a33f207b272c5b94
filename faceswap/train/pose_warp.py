"""``-O sample.pose_warp=DEGREES``: turn training faces a little further with a 2D warp.

A source clip seldom covers the destination's head turns, and a decoder draws only the poses
it was shown, so the swap turns less than the head it replaces (the score's pose *gain*). This
warp shows each face turned by a random yaw and pitch: the generic 3D face (align/face3d.py)
fitted to the face's 68 landmarks gives each landmark a depth, a smooth spline spreads the
depths over the crop (the outline's depth on a ring around the face), and every pixel moves as a point
at its depth would under the turn. Nothing hidden is invented, so the angles stay small.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from faceswap.align.face3d import FACE_3D
from faceswap.align.pose import FIT, axis_turns, fit_view

GRID = 17                       # the depth map is solved on GRID x GRID points and interpolated between
RING = 1.3                      # a ring this many times the landmarks' reach from their centre ...
RING_POINTS = 24                # ... of this many points, at the depth of the face's outline (hair, ears)
SMOOTHING = 1e-3                # ridge on the spline's kernel: a smooth depth, near-duplicate points solvable
_CENTRED = FACE_3D - FACE_3D[FIT].mean(0)
_OUTLINE = float(_CENTRED[:17, 2].mean())       # depth of the jaw line: the head's edge and what lies beyond


def turn_points(points: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """``(68, 2)`` landmarks where the fitted 3D face puts them once turned ``yaw`` degrees
    (positive: towards the image's right, as align/pose.py) and ``pitch`` degrees (up)."""
    points = np.asarray(points, np.float64)
    return _landmarks_moved(points, _motion(points, yaw, pitch))


def turn_maps(points: np.ndarray, size: int, yaw: float, pitch: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turned landmarks (turn_points) and the ``(size, size)`` remap maps that draw the image turned.

    A pixel's move under a turn is linear in its position and its depth, so the warp needs only
    a smooth depth map: the 3D face's depths at the landmarks, the outline's on a ring around them.
    """
    points = np.asarray(points, np.float64)
    move = _motion(points, yaw, pitch)
    centre = points[FIT].mean(0)
    reach = RING * np.sqrt(((points - centre) ** 2).sum(1)).max()
    angles = np.linspace(0, 2 * np.pi, RING_POINTS, endpoint=False)
    ring = centre + reach * np.c_[np.cos(angles), np.sin(angles)]
    centres = np.concatenate([points, ring]) / size
    weights = _fit_spline(centres, np.r_[_CENTRED[:, 2], np.full(len(ring), _OUTLINE)][:, None])
    axis = np.linspace(0, size - 1, GRID)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    depth = _evaluate(weights, centres, grid / size)[:, 0]
    coarse = -move(grid, depth).reshape(GRID, GRID, 2)      # read from where the pixel came from
    upsample = _upsampler(size)
    dense_x, dense_y = (upsample @ coarse[..., k] @ upsample.T for k in range(2))
    ramp = np.arange(size, dtype=np.float64)
    return (_landmarks_moved(points, move), (ramp[None, :] + dense_x).astype(np.float32),
            (ramp[:, None] + dense_y).astype(np.float32))


def _landmarks_moved(points: np.ndarray, move) -> np.ndarray:
    """The 68 landmarks moved as the 3D face's points at their depths."""
    return (points + move(points, _CENTRED[:, 2])).astype(np.float32)


def _motion(points: np.ndarray, yaw: float, pitch: float):
    """``move(at, depth) -> (N, 2)``: how image points at these depths move under the turn."""
    rotation, scale = fit_view(points)
    _, turn_y, turn_p = axis_turns(yaw, pitch)
    # yaw about the viewer's vertical, pitch about the head's own ear-to-ear axis: with no roll
    # (aligned crops) both add exactly to the angles align/pose.py measures
    change = (turn_y @ rotation @ turn_p - rotation)[:2]
    # image offset q = scale * (R[:2, :2] @ (x, y) + R[:2, 2] * z): solve for (x, y), then move = scale * change @ X
    per_offset = change[:, :2] @ np.linalg.inv(rotation[:2, :2])
    per_depth = scale * (change[:, 2] - per_offset @ rotation[:2, 2])
    centre = points[FIT].mean(0)
    return lambda at, depth: (at - centre) @ per_offset.T + depth[:, None] * per_depth


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return 0.5 * squared * np.log(np.maximum(squared, 1e-12))       # r^2 log r


def _fit_spline(centres: np.ndarray, values: np.ndarray) -> np.ndarray:
    n = len(centres)
    affine = np.c_[np.ones(n), centres]
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = _kernel(centres, centres) + SMOOTHING * np.eye(n)
    system[:n, n:] = affine
    system[n:, :n] = affine.T
    return np.linalg.solve(system, np.r_[values, np.zeros((3, values.shape[1]))])


def _evaluate(weights: np.ndarray, centres: np.ndarray, at: np.ndarray) -> np.ndarray:
    n = len(centres)
    return _kernel(at, centres) @ weights[:n] + np.c_[np.ones(len(at)), at] @ weights[n:]


@lru_cache(maxsize=8)
def _upsampler(size: int) -> np.ndarray:
    """``(size, GRID)`` linear interpolation from the spline's grid (corners on the crop's corners)."""
    position = np.arange(size) * (GRID - 1) / (size - 1)
    low = np.minimum(np.floor(position).astype(int), GRID - 2)
    frac = position - low
    matrix = np.zeros((size, GRID))
    matrix[np.arange(size), low] = 1 - frac
    matrix[np.arange(size), low + 1] = frac
    return matrix
