"""Measures of a face model's latent space, shared by the tests and benchmarks/latent.py."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceswap.align.template import recrop_matrix
from faceswap.train.samples import SampleConfig, load_face


def masked_crop(path: Path, resolution: int, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """A face file at a model's crop, (3, R, R) floats in [0, 1], and its stored face mask (1, R, R).

    Models are trained under the mask and leave the background free, so faces are compared inside it.
    """
    face = load_face(path, SampleConfig(resolution, coverage))
    matrix = recrop_matrix(face.size, face.coverage, resolution, coverage)
    size = (resolution, resolution)
    crop = cv2.warpAffine(face.image, matrix, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(face.mask, matrix, size, flags=cv2.INTER_LINEAR)
    return crop.transpose(2, 0, 1).astype(np.float32) / 255, mask[None].astype(np.float32) / 255


def masked_mse(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared difference of two (3, R, R) images, weighted by a (1, R, R) mask."""
    return float(np.sum(mask * (x - y) ** 2) / (3 * mask.sum()))


def faces_found(detector, images: list[np.ndarray]) -> int:
    """How many (R, R, 3) uint8 faces ``detector`` finds, each shown at 256 px in a 512 px frame as in a photo."""
    found = 0
    for image in images:
        canvas = np.zeros((512, 512, 3), np.uint8)
        canvas[128:384, 128:384] = cv2.resize(image, (256, 256), interpolation=cv2.INTER_CUBIC)
        found += bool(detector.detect([canvas])[0])
    return found
