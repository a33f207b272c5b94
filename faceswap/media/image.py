"""Read and write images as RGB uint8 (OpenCV's BGR stays inside this module)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceswap.atomic import write_atomic
from faceswap.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def is_image_file(path: Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: Path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB; InputError when missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    data = np.fromfile(str(path), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise InputError(f"{path} is not an image OpenCV can read")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def encode_image(rgb: np.ndarray, suffix: str = ".png", quality: int = 95) -> bytes:
    """Encode RGB uint8 to the format of ``suffix``."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix.lower() in (".jpg", ".jpeg") else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    ok, buf = cv2.imencode(suffix, bgr, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode {suffix}")
    return buf.tobytes()


def decode_image(data: bytes) -> np.ndarray:
    """Decode PNG/JPEG bytes to RGB uint8 (or grey uint8 for one-channel images)."""
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError("not an image")
    if img.ndim == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Write atomically; the format follows the suffix."""
    write_atomic(Path(path), encode_image(rgb, Path(path).suffix))
