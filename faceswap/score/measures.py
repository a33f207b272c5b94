"""Per-face measures comparing a swapped frame with its original, as pure array functions.

Landmarks are ``(68, 2)`` float frame pixels; images RGB uint8 ``(H, W, 3)``. Geometric
measures use each frame's own landmarks; photometric ones look at both frames through the
ORIGINAL face's geometry, so they compare the same pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.align.pose import head_pose, rotation_from_points
from faceswap.align.template import face_matrix
from faceswap.align.umeyama import apply, umeyama
from faceswap.align.warp import points_to_face, warp_to_face

EYES = slice(36, 48)
MOUTH = slice(48, 68)
# nose and eye corners: they move with the head, not with the expression
RIGID = np.array([27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45])
CROP_SIZE = 256
CROP_COVERAGE = 1.6
CHANGED_DELTA_E = 4.0       # Lab difference that counts as "the swap changed this pixel"


def inter_ocular(points: np.ndarray) -> float:
    """Distance between the outer eye corners, the scale of every landmark error."""
    return float(np.linalg.norm(points[36] - points[45])) or 1.0


def pose_error(original: np.ndarray, swapped: np.ndarray) -> tuple[float, np.ndarray]:
    """(angle in degrees between the two head rotations, yaw, pitch and roll of the swap less the
    original's: signed, so a swap drawn turned the same way in every frame shows as a bias)."""
    relative = rotation_from_points(original).T @ rotation_from_points(swapped)
    angle = np.degrees(np.arccos(np.clip((np.trace(relative) - 1) / 2, -1.0, 1.0)))
    return float(angle), head_pose(swapped).as_array() - head_pose(original).as_array()


def expression_error(original: np.ndarray, swapped: np.ndarray) -> float:
    """Mean distance of the eye and mouth points once the swap is aligned to the original on
    rigid points (so pose and position drop out), relative to the inter-ocular distance."""
    aligned = apply(umeyama(swapped[RIGID], original[RIGID]), swapped)
    parts = np.r_[np.arange(36, 48), np.arange(48, 68)]
    return float(np.linalg.norm(aligned[parts] - original[parts], axis=1).mean() / inter_ocular(original))


@dataclass(frozen=True)
class FaceRegion:
    """Where a face is: the crop geometry of the original face and its inner mask.

    Both frames are looked at through the same region, so they compare the same pixels.
    """

    matrix: np.ndarray      # (2, 3) frame -> crop
    mask: np.ndarray        # (S, S) bool: inside the face, away from its outline

    def crop(self, image: np.ndarray) -> np.ndarray:
        return warp_to_face(image, self.matrix, CROP_SIZE)


def face_region(original_points: np.ndarray) -> FaceRegion:
    matrix = face_matrix(original_points, CROP_SIZE, CROP_COVERAGE)
    hull = cv2.convexHull(points_to_face(original_points, matrix).round().astype(np.int32))
    mask = np.zeros((CROP_SIZE, CROP_SIZE), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    inset = int(CROP_SIZE * 0.06)
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * inset + 1,) * 2))
    return FaceRegion(matrix, mask.astype(bool))


def high_frequency(crop: np.ndarray, mask: np.ndarray) -> float:
    """RMS of the Laplacian of the grey face inside its mask (fine detail and texture)."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    laplacian = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    return float(np.sqrt(np.mean(laplacian[mask] ** 2))) if mask.any() else 0.0


def mean_lab(crop: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean CIE Lab colour ``(3,)`` of the face inside its mask."""
    if not mask.any():
        return np.zeros(3)
    pixels = crop[mask].astype(np.float32)[:, None, :] / 255.0
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB)[:, 0].mean(0)


@dataclass(frozen=True)
class BlendMeasure:
    delta_e: float          # Lab colour step just inside the blended region's edge (0 = seamless)
    seam: float             # edge strength along that border, swap / original (1 = no new edge)


def blend_measure(original: np.ndarray, swapped: np.ndarray, points: np.ndarray) -> BlendMeasure | None:
    """Colour and gradient step across the border of the region the swap changed.

    The region is where the swapped frame differs from the original (> 4 Lab units) around
    this face; None when the swap left the face (nearly) untouched.
    """
    x0, y0, x1, y1 = _window(points, original.shape)
    before = _lab(original[y0:y1, x0:x1])
    after = _lab(swapped[y0:y1, x0:x1])
    delta_e = np.sqrt(((after - before) ** 2).sum(axis=2))
    difference = cv2.GaussianBlur(delta_e, (0, 0), 1.5)
    face = np.zeros(difference.shape, np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull((points - [x0, y0]).round().astype(np.int32)), 1)
    region = _changed_region(difference > CHANGED_DELTA_E, face)
    if region.sum() < 0.05 * face.sum():
        return None
    band = max(2, int(round(0.04 * inter_ocular(points))))
    inside = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3)
    outside = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, 3)
    interior = np.zeros_like(region)
    interior[band:-band, band:-band] = True          # the window's own edge is not a seam
    inner_band = (inside > 0) & (inside <= band) & interior
    ring = ((inside > 0) & (inside <= band) | (outside > 0) & (outside <= band)) & interior
    if not inner_band.any():
        return None
    grad_after, grad_before = _gradient(after[..., 0]), _gradient(before[..., 0])
    seam = float(grad_after[ring].mean() / max(grad_before[ring].mean(), 1e-3))
    return BlendMeasure(float(delta_e[inner_band].mean()), seam)


def _window(points: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Frame box around the face, grown by 40% on each side (the blend lives near the outline)."""
    lo, hi = points.min(0), points.max(0)
    grow = (hi - lo) * 0.4
    (x0, y0), (x1, y1) = np.floor(lo - grow).astype(int), np.ceil(hi + grow).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _gradient(channel: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(channel, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(channel, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt(gx * gx + gy * gy)


def _changed_region(changed: np.ndarray, face: np.ndarray) -> np.ndarray:
    """The connected changed area that overlaps the face most, holes filled."""
    count, labels = cv2.connectedComponents(changed.astype(np.uint8))
    if count <= 1:
        return np.zeros(changed.shape, bool)
    overlap = np.bincount(labels[face.astype(bool)], minlength=count)
    overlap[0] = 0
    region = (labels == int(np.argmax(overlap))).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(region)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)
