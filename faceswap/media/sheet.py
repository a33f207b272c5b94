"""Contact sheets: faces as labelled tiles in one PNG that says it was made by faceswap."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from faceswap import __version__
from faceswap.atomic import write_atomic
from faceswap.errors import InputError
from faceswap.media.image import encode_image
from faceswap.media.pngmeta import PROVENANCE_KEY, embed_json

SHEET_TEXT = f"Made with faceswap {__version__}: faces extracted from footage, shown unaltered"
FONT = cv2.FONT_HERSHEY_SIMPLEX


def tile(image: np.ndarray, size: int, label: str = "") -> np.ndarray:
    """``image`` (RGB uint8) resized to ``size`` square, ``label`` written on a dark band at the top."""
    out = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR)
    if label:
        scale = max(0.3, size / 260)
        band = int(22 * scale) + 4
        out[:band] = (out[:band] * 0.35).astype(np.uint8)
        cv2.putText(out, label, (3, band - 5), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def caption(text: str, width: int, height: int = 26) -> np.ndarray:
    """A dark strip with ``text`` in white."""
    out = np.full((height, width, 3), 32, np.uint8)
    cv2.putText(out, text, (6, height - 8), FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def grid(tiles: Sequence[np.ndarray], columns: int | None = None) -> np.ndarray:
    """Tiles of one size, row by row (blank cells at the end)."""
    if not tiles:
        raise InputError("no faces to put on a sheet")
    columns = columns or math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    height, width = tiles[0].shape[:2]
    out = np.zeros((rows * height, columns * width, 3), np.uint8)
    for i, image in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * height:(r + 1) * height, c * width:(c + 1) * width] = image
    return out


def stack(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Images one above the other, padded on the right to the widest."""
    width = max(p.shape[1] for p in parts)
    return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0))) for p in parts], axis=0)


def write_sheet(path: Path, rgb: np.ndarray, text: str = SHEET_TEXT) -> Path:
    """Write a PNG (atomically) carrying ``text`` in its ``faceswap_provenance`` iTXt chunk (every PNG we make)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputError(f"{path}: a sheet is written as a .png file")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, embed_json(encode_image(rgb, ".png"), text, PROVENANCE_KEY.encode()))
    return path
