"""Two of DeepFaceLab's sample filters, deterministic functions of a sample and its mask.

- Colour transfer (DFL's ``ct_mode rct``): a source sample takes a destination face's colour
  statistics, so the model learns the source face under the destination's lighting and skin tone.
  Reinhard's transfer: each Lab channel's mean and spread matched inside the face masks. The
  ``rct`` colour plugin does the same at merge time; core never imports plugins, so these few
  lines live here.
- Blur out mask (DFL's ``blur_out_mask``): the background outside the face mask is blurred, so
  the model spends nothing on background detail next to the face and merges show no sharp
  background ghost at the face's edge. Pixels inside the mask are kept exactly.
"""
from __future__ import annotations

import cv2
import numpy as np

COLOUR_TRANSFERS = ("none", "rct")
BLUR_OUT_SIGMA = 1 / 16          # Gaussian sigma as a fraction of the sample's size
MIN_MASK_PIXELS = 16.0           # less face than this: nothing to measure, leave the sample alone

LabStats = tuple[np.ndarray, np.ndarray]     # per-channel mean and std, (3,) float32 each


def lab_stats(image: np.ndarray, mask: np.ndarray) -> LabStats | None:
    """Mean and std of each Lab channel of float32 RGB ``image`` (S, S, 3) in [0, 1], weighted by
    ``mask`` (S, S) in [0, 1]; None when the mask holds (almost) nothing."""
    weights = np.clip(mask.astype(np.float32), 0.0, 1.0).reshape(-1)
    total = float(weights.sum(dtype=np.float64))
    if total < MIN_MASK_PIXELS:
        return None
    lab = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    mean = weights @ lab / total
    std = np.sqrt(weights @ np.square(lab - mean) / total)
    return mean.astype(np.float32), std.astype(np.float32)


def transfer_colour(image: np.ndarray, mask: np.ndarray, reference: LabStats) -> np.ndarray:
    """``image`` (float32 RGB (S, S, 3) in [0, 1]) with its masked Lab statistics moved to ``reference``."""
    own = lab_stats(image, mask)
    if own is None:
        return image
    (mean, std), (ref_mean, ref_std) = own, reference
    lab = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2LAB)
    lab = (lab - mean) * (ref_std / np.maximum(std, 1e-3)) + ref_mean
    lab[..., 0] = np.clip(lab[..., 0], 0.0, 100.0)      # a legal L; a and b are clipped in RGB below
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB), 0.0, 1.0)


def blur_out_mask(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` (float32 (S, S, 3)) with what lies outside ``mask`` (S, S) in [0, 1] blurred.

    The blur averages outside pixels only (a normalised convolution), so face colours never
    bleed into the background; where the mask is 1 the pixel is returned unchanged.
    """
    sigma = image.shape[0] * BLUR_OUT_SIGMA
    outside = (1.0 - np.clip(mask, 0.0, 1.0)).astype(np.float32)
    weight = cv2.GaussianBlur(outside, (0, 0), sigma)[..., None]
    spread = cv2.GaussianBlur(image * outside[..., None], (0, 0), sigma)
    blurred = np.where(weight > 1e-4, spread / np.maximum(weight, 1e-4), image)
    return (image * (1.0 - outside[..., None]) + blurred * outside[..., None]).astype(np.float32)
