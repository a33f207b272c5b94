"""Feathered alpha blending: out = face * m + frame * (1 - m).

"Outside" is every pixel where the mask is 0: those keep the frame's value exactly. The
optional extra feather erodes then blurs the mask by the same square radius, so the soft
edge it adds stays inside the mask's own support and never reaches outside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.plugin_api import API_VERSION, Blender, option

from ._region import alpha, check_inputs, composite, support_box


class AlphaBlender(Blender):
    name = "alpha"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        feather: int = option(0, "extra edge softening in pixels, kept inside the mask", min=0, max=64)

    def blend(self, frame: np.ndarray, face: np.ndarray, mask: np.ndarray) -> np.ndarray:
        check_inputs(frame, face, mask)
        radius = self.options.feather
        # the margin brings the true zeros around the mask into view for the erosion
        box = support_box(mask, radius)
        if box is None:
            return frame.copy()
        weight = alpha(mask, box)
        if radius > 0:
            weight = np.minimum(weight, self._feathered(weight[..., 0], radius)[..., None])
        base = frame[box].astype(np.float32)
        return composite(frame, box, weight * (face[box].astype(np.float32) - base))

    @staticmethod
    def _feathered(weight: np.ndarray, radius: int) -> np.ndarray:
        size = 2 * radius + 1
        kernel = np.ones((size, size), np.uint8)
        # beyond the frame edge nothing erodes (OpenCV's default), so faces cut by the edge stay solid
        shrunk = cv2.erode(weight, kernel)
        return cv2.GaussianBlur(shrunk, (size, size), 0, borderType=cv2.BORDER_REPLICATE)
