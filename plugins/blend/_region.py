"""What the blenders share: input checks, the box a mask covers, the final masked composite."""
from __future__ import annotations

import numpy as np

from faceswap.errors import InputError

Box = tuple[slice, slice]


def check_inputs(frame: np.ndarray, face: np.ndarray, mask: np.ndarray) -> None:
    """Raise InputError unless frame and face are equal (H, W, 3) uint8 and mask is (H, W)."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise InputError(f"blend: frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    if face.shape != frame.shape or face.dtype != np.uint8:
        raise InputError(f"blend: face must match the frame {frame.shape} uint8, got {face.shape} {face.dtype}")
    if mask.shape != frame.shape[:2]:
        raise InputError(f"blend: mask must be {frame.shape[:2]}, got {mask.shape}")


def support_box(mask: np.ndarray, margin: int = 0) -> Box | None:
    """The box of pixels where mask > 0, grown by ``margin`` and clipped to the image; None if empty."""
    rows = np.flatnonzero(mask.max(axis=1) > 0)
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.max(axis=0) > 0)
    height, width = mask.shape
    return (slice(max(int(rows[0]) - margin, 0), min(int(rows[-1]) + 1 + margin, height)),
            slice(max(int(cols[0]) - margin, 0), min(int(cols[-1]) + 1 + margin, width)))


def composite(frame: np.ndarray, box: Box, change: np.ndarray) -> np.ndarray:
    """A copy of ``frame`` with ``change`` (float, box-sized) added inside ``box``.

    Adding an exact 0.0 to an integer-valued float and rounding gives the integer back,
    so every pixel whose change is zero keeps its frame value bit for bit.
    """
    out = frame.copy()
    base = frame[box].astype(np.float32)
    out[box] = np.clip(np.rint(base + change), 0, 255).astype(np.uint8)
    return out


def alpha(mask: np.ndarray, box: Box) -> np.ndarray:
    """The mask inside ``box`` as a (h, w, 1) float32 weight in [0, 1]."""
    return np.clip(mask[box], 0.0, 1.0).astype(np.float32)[..., None]
