"""The mask a swapped face is blended under: predicted, stored or both, then eroded and feathered.

Modes: ``predicted`` (the model's mask), ``extracted`` (the first mask stored with the face, the
extraction's), ``intersect`` (both), or the name of a stored mask (``segment``, ``hull``, ...),
alone or intersected with the model's (``segment+predicted``).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.align.template import recrop_matrix
from faceswap.errors import FaceSetError, OptionError
from faceswap.faceset.schema import FaceRecord

MASK_MODES = ("predicted", "extracted", "intersect")
MASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class MaskMode:
    """Which masks a merge blends under: a stored one ("" = the first, None = none) and/or the predicted."""

    stored: str | None
    predicted: bool


def parse_mask_mode(text: str) -> MaskMode:
    """``predicted``, ``extracted``, ``intersect``, ``NAME`` or ``NAME+predicted``; OptionError otherwise."""
    named = {"predicted": MaskMode(None, True), "extracted": MaskMode("", False), "intersect": MaskMode("", True)}
    if text in named:
        return named[text]
    parts = text.split("+")
    names = [p for p in parts if p != "predicted"]
    if len(parts) > 2 or len(names) != 1 or not MASK_NAME.match(names[0]) or names[0] in named:
        raise OptionError(f"--mask '{text}': use predicted, extracted, intersect, the name of a stored mask "
                          f"(e.g. segment), or NAME+predicted")
    return MaskMode(names[0], len(parts) == 2)


def extracted_mask(record: FaceRecord, resolution: int, coverage: float, name: str = "") -> np.ndarray:
    """A stored mask (``name``; default the first, the extraction's) re-cropped to the model's crop,
    ``(R, R)`` float32; FaceSetError saying how to add it when the face lacks it."""
    if name and name not in record.masks:
        raise FaceSetError(f"face {record.face_index} of frame {record.frame_index} ({record.source}) has no '{name}' "
                           f"mask (it has {', '.join(record.masks) or 'none'}): run 'faceswap mask apply SET --masker "
                           f"{name}' on its face set, or extract it with --masker {name}")
    stored = record.mask(name or None)
    matrix = recrop_matrix(record.size, record.coverage, resolution, coverage)
    return cv2.warpAffine(stored, matrix, (resolution, resolution), flags=cv2.INTER_LINEAR)


def combine_masks(predicted: np.ndarray, extracted: np.ndarray | None, mode: str | MaskMode) -> np.ndarray:
    mode = parse_mask_mode(mode) if isinstance(mode, str) else mode
    if extracted is None or mode.stored is None:
        return predicted
    if not mode.predicted:
        return extracted
    return np.minimum(predicted, extracted)


def shape_mask(mask: np.ndarray, erode: float, blur: float) -> np.ndarray:
    """Erode (positive) or dilate (negative) by ``erode`` and feather by ``blur``, both as
    fractions of the crop size, so the look is the same at any face size.

    Outside the crop counts as outside the mask: a mask that reaches the crop's edge (a forehead
    under a tight crop) is feathered there too, instead of ending in a hard line in the frame."""
    size = mask.shape[0]
    out = mask.astype(np.float32)
    border = {"borderType": cv2.BORDER_CONSTANT, "borderValue": 0.0}
    radius = int(round(abs(erode) * size))
    if radius:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        out = cv2.erode(out, kernel, **border) if erode > 0 else cv2.dilate(out, kernel, **border)
    sigma = blur * size
    if sigma > 0:
        inner = max(1, int(round(sigma * 1.5)))
        if erode >= 0:   # keep the feathered edge inside the mask's outline (and the crop's)
            out = cv2.erode(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * inner + 1,) * 2), **border)
        else:            # a grown mask feathers outward, but never past the crop's edge
            out[:inner], out[-inner:], out[:, :inner], out[:, -inner:] = 0.0, 0.0, 0.0, 0.0
        out = cv2.GaussianBlur(out, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    return np.clip(out, 0.0, 1.0)


def require_stored_mask(records: Iterable[FaceRecord], mode: str, faceset: str) -> None:
    """FaceSetError, before any work, when ``mode`` names a stored mask some faces lack."""
    name = parse_mask_mode(mode).stored
    if not name:
        return
    missing = sum(1 for record in records if name not in record.masks)
    if missing:
        raise FaceSetError(f"{missing} faces of face set '{faceset}' have no '{name}' mask: run 'faceswap mask apply "
                           f"{faceset} --masker {name}' first (or extract with --masker {name})")
