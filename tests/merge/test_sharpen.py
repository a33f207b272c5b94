"""Unsharp masking of swapped faces, on a real face made soft as a CPU-trained model's is."""
from __future__ import annotations

import cv2
import numpy as np

from conftest import PHOTOS
from faceswap.media.image import read_image
from faceswap.merge.sharpen import sharpen_face


def _soft_face() -> np.ndarray:
    photo = read_image(PHOTOS / "biden" / "biden.jpg")
    face = cv2.resize(photo, (128, 128), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return cv2.resize(cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA), (128, 128),
                      interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _laplacian_rms(face: np.ndarray) -> float:
    return float(np.sqrt((cv2.Laplacian(face.mean(axis=2), cv2.CV_32F) ** 2).mean()))


def test_zero_amount_leaves_the_face_alone():
    face = _soft_face()
    assert sharpen_face(face, 0.0) is face


def test_sharpening_adds_detail_more_with_the_amount_and_keeps_colours():
    face = _soft_face()
    some, more = sharpen_face(face, 0.5), sharpen_face(face, 1.5)
    assert _laplacian_rms(face) * 1.1 < _laplacian_rms(some) < _laplacian_rms(more)
    assert more.min() >= 0.0 and more.max() <= 1.0 and more.dtype == np.float32
    assert np.abs(more.mean(axis=(0, 1)) - face.mean(axis=(0, 1))).max() < 0.01
