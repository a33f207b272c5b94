"""Temporal smoothing of landmarks so swapped faces do not jitter (One Euro filter).

The One Euro filter (Casiez et al., 2012) is a low-pass filter whose cut-off rises with
speed: still faces are smoothed hard, fast moves follow with little lag. Speed is
measured in face sizes per second, so the same settings suit small and large faces.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SmoothingConfig:
    min_cutoff: float = 1.0     # Hz: lower = smoother when still
    beta: float = 5.0           # how fast the cut-off rises with speed (face sizes per second)
    d_cutoff: float = 1.0       # Hz: smoothing of the speed estimate


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters successive ``(N, 2)`` point arrays sampled ``dt`` seconds apart."""

    def __init__(self, config: SmoothingConfig) -> None:
        self.config = config
        self.value: np.ndarray | None = None
        self.speed: np.ndarray | None = None

    def __call__(self, points: np.ndarray, dt: float, scale: float) -> np.ndarray:
        """Filter one ``(N, 2)`` array; ``scale`` (the face size in pixels) sets the speed unit."""
        x = points.astype(np.float64)
        if self.value is None:
            self.value, self.speed = x, np.zeros_like(x)
            return points.astype(np.float32)
        c = self.config
        raw_speed = (x - self.value) / dt
        self.speed = self.speed + _alpha(c.d_cutoff, dt) * (raw_speed - self.speed)
        cutoff = c.min_cutoff + c.beta * np.linalg.norm(self.speed, axis=-1, keepdims=True) / scale
        alpha = 1.0 / (1.0 + 1.0 / (2 * np.pi * cutoff * dt))
        self.value = self.value + alpha * (x - self.value)
        return self.value.astype(np.float32)


class LandmarkSmoother:
    """Follows each face across frames (nearest centre) and filters its 68 points."""

    def __init__(self, config: SmoothingConfig, fps: float) -> None:
        self.config = config
        self.dt = 1.0 / fps if fps > 0 else 1.0 / 25
        self.tracks: list[tuple[np.ndarray, OneEuroFilter]] = []   # (last centre, filter)

    def smooth(self, faces: list[np.ndarray]) -> list[np.ndarray]:
        """Smoothed copies of one frame's ``(68, 2)`` landmark arrays, same order."""
        result, tracks = [], []
        free = list(self.tracks)
        for points in faces:
            centre = points[17:].mean(0)
            scale = float(np.ptp(points[17:], axis=0).max()) or 1.0
            match = min(free, key=lambda t: np.linalg.norm(t[0] - centre), default=None)
            if match is not None and np.linalg.norm(match[0] - centre) < 0.5 * scale:
                free = [t for t in free if t is not match]      # by identity: == on arrays is ambiguous
                filt = match[1]
            else:
                filt = OneEuroFilter(self.config)
            smoothed = filt(points, self.dt, scale)
            tracks.append((centre, filt))
            result.append(smoothed)
        self.tracks = tracks
        return result
