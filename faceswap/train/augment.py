"""Training augmentations as pure functions of an image and a random generator.

The random warp is DeepFaceLab's idea: the model sees a face bent by a smooth random
grid and must produce the unbent face, so it learns faces rather than pixels.
"""
from __future__ import annotations

import math

import cv2
import numpy as np


def jitter_matrix(size: int, rng: np.random.Generator, rotation: float, scale: float,
                  shift: float, flip: bool) -> np.ndarray:
    """``(2, 3)`` random similarity about the crop centre (degrees, fractions of size)."""
    angle = rng.uniform(-rotation, rotation)
    factor = 1.0 + rng.uniform(-scale, scale)
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, factor)
    matrix[:, 2] += rng.uniform(-shift, shift, 2) * size
    if flip and rng.random() < 0.5:
        matrix[0] = -matrix[0]
        matrix[0, 2] += size
    return matrix


def random_warp_maps(size: int, rng: np.random.Generator, strength: float = 0.04,
                     grid: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random remap maps: random offsets on a coarse grid, upsampled linearly and added
    to the identity map (so zero strength is exactly the identity)."""
    offsets = np.zeros((2, grid, grid), np.float32)
    inner = (slice(None), slice(1, -1), slice(1, -1))      # the border stays put so nothing wraps in
    offsets[inner] = rng.normal(0, size * strength, (2, grid - 2, grid - 2))
    dense = [cv2.resize(o, (size, size), interpolation=cv2.INTER_LINEAR) for o in offsets]
    ramp = np.arange(size, dtype=np.float32)
    return ramp[None, :] + dense[0], ramp[:, None] + dense[1]


def random_warp(image: np.ndarray, rng: np.random.Generator, strength: float = 0.04) -> np.ndarray:
    """``image`` bent by a smooth random grid (same shape)."""
    map_x, map_y = random_warp_maps(image.shape[0], rng, strength)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def colour_jitter(image: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Random brightness, contrast and hue-ish channel gains on float32 RGB in [0, 1]."""
    if amount <= 0:
        return image
    gains = 1.0 + rng.uniform(-amount, amount, 3).astype(np.float32) * 0.5
    contrast = 1.0 + rng.uniform(-amount, amount)
    brightness = rng.uniform(-amount, amount) * 0.5
    mean = image.mean()
    out = (image - mean) * contrast + mean + brightness
    return np.clip(out * gains, 0.0, 1.0).astype(np.float32)


def priority_map(points: np.ndarray, size: int) -> np.ndarray:
    """``(size, size)`` float32: 1 over the eyes and mouth (hulls of their landmarks), else 0."""
    out = np.zeros((size, size), np.uint8)
    for part in (slice(36, 42), slice(42, 48), slice(48, 60)):
        hull = cv2.convexHull(np.round(points[part]).astype(np.int32))
        cv2.fillConvexPoly(out, hull, 1)
    radius = max(1, int(math.ceil(size / 64)))
    out = cv2.dilate(out, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    return out.astype(np.float32)
