"""The mask a swapped face is blended under: predicted, extracted or both, then eroded and feathered."""
from __future__ import annotations

import cv2
import numpy as np

from faceswap.align.template import recrop_matrix
from faceswap.faceset.schema import FaceRecord

MASK_MODES = ("predicted", "extracted", "intersect")


def extracted_mask(record: FaceRecord, resolution: int, coverage: float) -> np.ndarray:
    """The stored extraction mask re-cropped to the model's crop, ``(R, R)`` float32."""
    stored = record.mask()
    matrix = recrop_matrix(record.size, record.coverage, resolution, coverage)
    return cv2.warpAffine(stored, matrix, (resolution, resolution), flags=cv2.INTER_LINEAR)


def combine_masks(predicted: np.ndarray, extracted: np.ndarray | None, mode: str) -> np.ndarray:
    if mode == "predicted" or extracted is None:
        return predicted
    if mode == "extracted":
        return extracted
    return np.minimum(predicted, extracted)


def shape_mask(mask: np.ndarray, erode: float, blur: float) -> np.ndarray:
    """Erode (positive) or dilate (negative) by ``erode`` and feather by ``blur``, both as
    fractions of the crop size, so the look is the same at any face size."""
    size = mask.shape[0]
    out = mask.astype(np.float32)
    radius = int(round(abs(erode) * size))
    if radius:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        out = cv2.erode(out, kernel) if erode > 0 else cv2.dilate(out, kernel)
    sigma = blur * size
    if sigma > 0:
        if erode >= 0:   # keep the feathered edge inside the mask's outline
            inner = int(round(sigma * 1.5))
            if inner:
                out = cv2.erode(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * inner + 1,) * 2))
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    return np.clip(out, 0.0, 1.0)
