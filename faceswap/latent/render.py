"""Write latent results: a PNG strip or grid, or an animated GIF / MP4, each tagged as synthetic."""
from __future__ import annotations

import io
import math
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from faceswap import __version__
from faceswap.atomic import write_atomic
from faceswap.errors import InputError
from faceswap.media.sheet import grid, write_sheet
from faceswap.media.video import EncodeSettings, VideoWriter
from faceswap.merge.outputs import provenance_tags

IMAGE_SUFFIXES = (".png",)
SEQUENCE_SUFFIXES = (".png", ".gif", ".mp4")
PROVENANCE_TEXT = f"Made with faceswap {__version__}: these faces are synthetic"


def check_output(path: Path, suffixes: tuple[str, ...] = SEQUENCE_SUFFIXES) -> None:
    """Refuse an output format we cannot write before any work is done."""
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{path}: the output must be a {' / '.join(suffixes)} file")


def write_tagged_png(path: Path, rgb: np.ndarray) -> Path:
    """A PNG carrying the provenance text (iTXt chunk ``faceswap_provenance``), written atomically."""
    check_output(path, IMAGE_SUFFIXES)
    return write_sheet(path, rgb, PROVENANCE_TEXT)


def write_sequence(path: Path, frames: list[np.ndarray], fps: float = 10.0, min_side: int = 256) -> Path:
    """``.png``: all frames side by side; ``.gif``/``.mp4``: an animation (upscaled to ``min_side``)."""
    check_output(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        return write_tagged_png(path, grid(frames, columns=len(frames)))
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    scale = max(1, math.ceil(min_side / max(height, width)))
    size = (width * scale + (width * scale) % 2, height * scale + (height * scale) % 2)
    frames = [cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC) for frame in frames]
    if suffix == ".gif":
        return _write_gif(path, frames, fps)
    writer = VideoWriter(path, size[0], size[1], Fraction(fps).limit_denominator(1000), metadata=provenance_tags(),
                         settings=EncodeSettings(preset="veryfast"))
    try:
        for frame in frames:
            writer.write(frame)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def _write_gif(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    # Pillow rather than ffmpeg: a palette per frame (ffmpeg's fixed rgb8 palette bands skin) and a
    # GIF comment block for the provenance text, which ffmpeg's GIF muxer does not write.
    images = [Image.fromarray(frame) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=max(20, round(1000 / fps)), comment=PROVENANCE_TEXT.encode())
    write_atomic(path, buffer.getvalue())
    return path
