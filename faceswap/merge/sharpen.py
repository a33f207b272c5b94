"""Unsharp masking of the swapped face before it is pasted (DeepFaceLab's merger 'sharpen').

A model trained for minutes on a CPU outputs a soft face; enlarging it into the frame
softens it more. Adding back ``amount`` times the detail a Gaussian blur removes restores
edge contrast at the cost of some noise. On by default (DEFAULT_AMOUNT); ``--sharpen 0`` turns
it off, e.g. for a model trained long enough to be as sharp as the footage.
"""
from __future__ import annotations

import cv2
import numpy as np

# the blur's sigma as a fraction of the crop: 1 px at 128 px, the scale of the detail a soft face lacks
SIGMA_FRACTION = 1.0 / 128
# measured on three 30-minute quick128 models (benchmarks/quality.py --merge-only): amount 1 raised sharpness
# 0.28-0.30 -> 0.38-0.42 and identity by 0.01-0.02, pose the same, landmark jitter +0.02-0.05 (README)
DEFAULT_AMOUNT = 1.0


def sharpen_face(face: np.ndarray, amount: float) -> np.ndarray:
    """face (R, R, 3) float32 in [0, 1] -> the same, with ``amount`` x its fine detail added (0: unchanged)."""
    if amount <= 0:
        return face
    sigma = SIGMA_FRACTION * face.shape[0]
    blurred = cv2.GaussianBlur(face, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    return np.clip(face + amount * (face - blurred), 0.0, 1.0)
