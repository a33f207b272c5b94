"""Does the source set show the poses the destination needs? (``faceswap faces coverage``)

A destination face is covered when at least ``min_neighbours`` source faces have a pose
within ``radius`` degrees of its yaw and pitch: a model rarely invents a pose it never
saw. The atlas draws both sets' yaw/pitch density side by side, uncovered destination
faces marked in red.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

RADIUS = 10.0           # degrees of yaw/pitch within which a source face counts as near
MIN_NEIGHBOURS = 3      # source faces a destination face needs nearby to count as covered
YAW_RANGE, PITCH_RANGE = 90, 60      # the atlas shows yaw -90..90 and pitch -60..60 degrees
PIXELS_PER_DEGREE = 2
CELL = 5                # degrees per atlas cell

# (what, test on yaw and pitch) -- the sentences coverage prints, in this order
REGIONS = (
    ("turned to the image's left beyond 40 deg", lambda y, p: y < -40),
    ("turned to the image's left 20-40 deg", lambda y, p: (y >= -40) & (y < -20)),
    ("turned to the image's right 20-40 deg", lambda y, p: (y > 20) & (y <= 40)),
    ("turned to the image's right beyond 40 deg", lambda y, p: y > 40),
    ("looking up beyond 20 deg", lambda y, p: p > 20),
    ("looking down beyond 20 deg", lambda y, p: p < -20),
    ("near frontal (within 20 deg)", lambda y, p: (np.abs(y) <= 20) & (np.abs(p) <= 20)),
)


@dataclass(frozen=True)
class PoseRegion:
    what: str
    dst_share: float        # share of destination faces in the region
    dst_faces: int
    src_faces: int

    def sentence(self) -> str:
        return f"{self.dst_share:.0%} of dst faces are {self.what}; src has {self.src_faces} such faces"


@dataclass(frozen=True)
class CoverageReport:
    """``uncovered``: (N,) bool over the destination faces."""

    src_faces: int
    dst_faces: int
    radius: float
    min_neighbours: int
    uncovered: np.ndarray
    regions: tuple[PoseRegion, ...]

    @property
    def uncovered_share(self) -> float:
        return float(self.uncovered.mean()) if len(self.uncovered) else 0.0


def pose_coverage(src: np.ndarray, dst: np.ndarray, radius: float = RADIUS,
                  min_neighbours: int = MIN_NEIGHBOURS) -> CoverageReport:
    """Coverage of ``dst`` poses by ``src`` poses, both ``(n, 2)`` yaw, pitch in degrees."""
    if len(src):
        near = cKDTree(src).query_ball_point(dst, r=radius, return_length=True) if len(dst) else np.zeros(0)
    else:
        near = np.zeros(len(dst))
    uncovered = np.asarray(near) < min_neighbours
    regions = []
    for what, test in REGIONS:
        in_dst = test(dst[:, 0], dst[:, 1]) if len(dst) else np.zeros(0, bool)
        in_src = test(src[:, 0], src[:, 1]) if len(src) else np.zeros(0, bool)
        regions.append(PoseRegion(what, float(in_dst.mean()) if len(dst) else 0.0, int(in_dst.sum()),
                                  int(in_src.sum())))
    return CoverageReport(len(src), len(dst), radius, min_neighbours, uncovered, tuple(regions))


def atlas(src: np.ndarray, dst: np.ndarray, uncovered: np.ndarray, src_name: str, dst_name: str) -> np.ndarray:
    """RGB image: the source's and the destination's yaw/pitch density side by side."""
    left = _panel(src, None, f"src {src_name}: {len(src)} faces")
    right = _panel(dst, uncovered, f"dst {dst_name}: {len(dst)} faces, {int(uncovered.sum())} uncovered (red)")
    gap = np.full((left.shape[0], 12, 3), 255, np.uint8)
    return np.concatenate([left, gap, right], axis=1)


def _panel(poses: np.ndarray, uncovered: np.ndarray | None, title: str) -> np.ndarray:
    width, height = 2 * YAW_RANGE * PIXELS_PER_DEGREE, 2 * PITCH_RANGE * PIXELS_PER_DEGREE
    top, left_margin, bottom = 28, 34, 30
    panel = np.full((height + top + bottom, width + left_margin + 8, 3), 255, np.uint8)
    plot = panel[top:top + height, left_margin:left_margin + width]
    plot[:] = 245
    counts, _, _ = np.histogram2d(poses[:, 1] if len(poses) else [], poses[:, 0] if len(poses) else [],
                                  bins=(2 * PITCH_RANGE // CELL, 2 * YAW_RANGE // CELL),
                                  range=((-PITCH_RANGE, PITCH_RANGE), (-YAW_RANGE, YAW_RANGE)))
    counts = counts[::-1]                   # pitch up at the top
    shade = np.log1p(counts) / max(float(np.log1p(counts.max())), 1e-6)
    colour = cv2.applyColorMap((255 - shade * 200).astype(np.uint8), cv2.COLORMAP_OCEAN)[..., ::-1]
    cells = cv2.resize(colour, (width, height), interpolation=cv2.INTER_NEAREST)
    occupied = cv2.resize((counts > 0).astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    plot[occupied] = cells[occupied]
    _axes(plot)
    if uncovered is not None and len(poses):
        for yaw, pitch in poses[uncovered]:
            x, y = _to_pixel(yaw, pitch)
            cv2.circle(plot, (x, y), 2, (220, 30, 30), -1, cv2.LINE_AA)
    cv2.putText(panel, title, (left_margin, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for degrees in range(-90, 91, 30):
        x = left_margin + _to_pixel(degrees, 0)[0]
        cv2.putText(panel, f"{degrees}", (x - 10, top + height + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    cv2.putText(panel, "yaw (deg): face turned to image left <-> right", (left_margin, top + height + 27),
                cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    for degrees in range(-60, 61, 30):
        y = top + _to_pixel(0, degrees)[1]
        cv2.putText(panel, f"{degrees}", (2, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    return panel


def _axes(plot: np.ndarray) -> None:
    for degrees in range(-90, 91, 30):
        x = _to_pixel(degrees, 0)[0]
        cv2.line(plot, (x, 0), (x, plot.shape[0] - 1), (200, 200, 200) if degrees else (150, 150, 150), 1)
    for degrees in range(-60, 61, 30):
        y = _to_pixel(0, degrees)[1]
        cv2.line(plot, (0, y), (plot.shape[1] - 1, y), (200, 200, 200) if degrees else (150, 150, 150), 1)


def _to_pixel(yaw: float, pitch: float) -> tuple[int, int]:
    x = int(round((np.clip(yaw, -YAW_RANGE, YAW_RANGE) + YAW_RANGE) * PIXELS_PER_DEGREE))
    y = int(round((PITCH_RANGE - np.clip(pitch, -PITCH_RANGE, PITCH_RANGE)) * PIXELS_PER_DEGREE))
    return min(x, 2 * YAW_RANGE * PIXELS_PER_DEGREE - 1), min(y, 2 * PITCH_RANGE * PIXELS_PER_DEGREE - 1)
