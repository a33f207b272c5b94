"""Write latent results: a PNG strip or grid, or an animated GIF / MP4."""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from faceswap.errors import InputError
from faceswap.media.image import write_image
from faceswap.media.video import EncodeSettings, VideoWriter
from faceswap.merge.outputs import provenance_tags

SEQUENCE_SUFFIXES = (".png", ".jpg", ".gif", ".mp4")


def grid(images: list[np.ndarray], columns: int | None = None) -> np.ndarray:
    """Images of one size tiled row by row (blank cells at the end)."""
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    height, width = images[0].shape[:2]
    out = np.zeros((rows * height, columns * width, 3), np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * height:(r + 1) * height, c * width:(c + 1) * width] = image
    return out


def write_sequence(path: Path, frames: list[np.ndarray], fps: float = 10.0, min_side: int = 256) -> Path:
    """``.png``/``.jpg``: all frames side by side; ``.gif``/``.mp4``: an animation (upscaled to ``min_side``)."""
    suffix = path.suffix.lower()
    if suffix not in SEQUENCE_SUFFIXES:
        raise InputError(f"{path}: write .png, .jpg, .gif or .mp4")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".png", ".jpg"):
        write_image(path, grid(frames, columns=len(frames)))
        return path
    height, width = frames[0].shape[:2]
    scale = max(1, math.ceil(min_side / max(height, width)))
    size = (width * scale + (width * scale) % 2, height * scale + (height * scale) % 2)
    settings = EncodeSettings(codec="gif", pix_fmt="rgb8") if suffix == ".gif" else EncodeSettings(preset="veryfast")
    writer = VideoWriter(path, size[0], size[1], Fraction(fps).limit_denominator(1000), metadata=provenance_tags(),
                         settings=settings)
    try:
        for frame in frames:
            writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC))
    except BaseException:
        writer.abort()
        raise
    return writer.close()
