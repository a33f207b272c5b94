"""Head pose (yaw, pitch, roll in degrees) from 68 landmarks and a generic 3D face.

The inner points (brows, eyes, nose, mouth) are fitted to align/face3d.py under scaled
orthography: the best 2x3 affine map is projected onto the nearest scaled rotation. This
measures the head relative to the line of sight, wherever the face sits in the frame
and whatever the lens; the jaw outline is left out because its 2D points slide over the
cheek as the head turns. Checked on real photos (scripts/derive_face3d.py, tests).
Signs: yaw > 0 when the face turns towards the image's right, pitch > 0 when it looks
up, roll > 0 when it tilts clockwise in the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceswap.align.face3d import FACE_3D

FIT = slice(17, 68)
_MODEL = FACE_3D[FIT] - FACE_3D[FIT].mean(0)
_MODEL_PINV = np.linalg.pinv(_MODEL.T)       # (N, 3): least-squares affine fit in one product


@dataclass(frozen=True)
class Pose:
    """Head rotation in degrees."""

    yaw: float
    pitch: float
    roll: float

    def as_array(self) -> np.ndarray:
        return np.array([self.yaw, self.pitch, self.roll])


def head_pose(points: np.ndarray) -> Pose:
    """Pose of the face with these ``(68, 2)`` landmarks (any pixel frame: frame or crop)."""
    return _euler(rotation_from_points(points))


def rotation_from_points(points: np.ndarray) -> np.ndarray:
    """``(3, 3)`` rotation taking the 3D face to the view of these ``(68, 2)`` points."""
    return fit_view(points)[0]


def fit_view(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The ``(3, 3)`` rotation and the scale (pixels per template unit) of the 3D face's
    scaled-orthographic view that best fits these ``(68, 2)`` points."""
    seen = np.asarray(points, np.float64)[FIT]
    affine = (seen - seen.mean(0)).T @ _MODEL_PINV          # (2, 3)
    u, singular, vt = np.linalg.svd(affine, full_matrices=False)
    rows = u @ vt                                           # nearest orthonormal pair of rows
    return np.vstack([rows, np.cross(rows[0], rows[1])]), float(singular.mean())


def fit_residual(points: np.ndarray) -> float:
    """How far these ``(68, 2)`` landmarks are from any view of a rigid face: the RMS distance of
    the inner points from their best scaled-orthographic fit, over the fitted face's width.

    About 0.02-0.05 for real faces (more with strong expressions); landmarks that slid off the face
    or belong to no face fit worse.
    """
    seen = np.asarray(points, np.float64)[FIT]
    seen = seen - seen.mean(0)
    u, singular, vt = np.linalg.svd(seen.T @ _MODEL_PINV, full_matrices=False)
    scale = float(singular.mean())
    if scale <= 0:
        return float("inf")
    fitted = scale * _MODEL @ (u @ vt).T
    width = scale * float(np.ptp(_MODEL[:, 0]))
    return float(np.sqrt(((seen - fitted) ** 2).sum(1).mean()) / width)


def _euler(rotation: np.ndarray) -> Pose:
    """Angles of R = Rz(roll) Ry(yaw) Rx(pitch), signs turned to the documented convention."""
    yaw = np.degrees(np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
    roll = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return Pose(float(-yaw), float(-pitch), float(roll))


def axis_turns(yaw: float, pitch: float, roll: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``(3, 3)`` rotations (Rz(roll), Ry(yaw), Rx(pitch)) of these angles in degrees, in the
    documented sign convention: the head at that pose is ``Rz @ Ry @ Rx``."""
    y, p, r = np.radians([-yaw, -pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz, ry, rx


def rotate_face(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``(68, 2)`` orthographic view of the 3D face at this pose (for tests and plots)."""
    rz, ry, rx = axis_turns(yaw, pitch, roll)
    return (FACE_3D @ (rz @ ry @ rx).T)[:, :2]
