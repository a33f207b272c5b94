"""Reinhard colour transfer: match each Lab channel's masked mean and spread to the target's.

Lab roughly decorrelates lightness from colour, so shifting and scaling the three channels
independently is enough for skin tones (Reinhard et al., 2001).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.plugin_api import API_VERSION, ColorTransfer, option

from ._stats import finish, mean_std, pixels, weights


class RctColorTransfer(ColorTransfer):
    name = "rct"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        strength: float = option(1.0, "how much of the transfer to apply (0 keeps the face)", min=0.0, max=1.0)
        match_std: bool = option(True, "also match each channel's spread, not only its mean")

    def transfer(self, face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = weights(mask)
        if w is None:
            return finish(face, face, 1.0)
        # float32 Lab: L in [0, 100], a and b roughly in [-127, 127]
        lab_face = cv2.cvtColor(np.ascontiguousarray(face, np.float32), cv2.COLOR_RGB2LAB)
        lab_target = cv2.cvtColor(np.ascontiguousarray(target, np.float32), cv2.COLOR_RGB2LAB)
        mean_f, std_f = mean_std(pixels(lab_face), w)
        mean_t, std_t = mean_std(pixels(lab_target), w)
        gain = std_t / np.maximum(std_f, 1e-3) if self.options.match_std else np.ones(3)
        lab = (lab_face - mean_f.astype(np.float32)) * gain.astype(np.float32) + mean_t.astype(np.float32)
        # keep L legal so the conversion back does not wrap; a and b are clipped by RGB later
        lab[..., 0] = np.clip(lab[..., 0], 0.0, 100.0)
        return finish(face, cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), self.options.strength)
