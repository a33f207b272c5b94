"""Poisson (seamless) cloning with OpenCV: the face's gradients, the frame's colours at the edge.

The Poisson domain is the mask's support (mask > 0), solved on its bounding box only. The
clone is then composited with the soft mask, so "outside" is exactly where the mask is 0:
those pixels keep the frame's value bit for bit, even though OpenCV's solver also nudges
pixels of its box that lie outside the domain.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.plugin_api import API_VERSION, Blender, option

from ._region import alpha, check_inputs, composite, support_box

MODES = {"normal": cv2.NORMAL_CLONE, "mixed": cv2.MIXED_CLONE}
# OpenCV clears the mask's outermost pixel ring; padding keeps a mask that touches the
# box (or the frame) edge whole.
PAD = 2
# A Poisson solve needs a few pixels across; smaller supports are plain alpha-blended.
MIN_SIDE = 3


class SeamlessBlender(Blender):
    name = "seamless"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        mode: str = option("normal", "normal: the face's gradients; mixed: the stronger of face and "
                                     "frame gradients (keeps frame texture)", choices=tuple(MODES))

    def blend(self, frame: np.ndarray, face: np.ndarray, mask: np.ndarray) -> np.ndarray:
        check_inputs(frame, face, mask)
        box = support_box(mask)
        if box is None:
            return frame.copy()
        weight = alpha(mask, box)
        base = frame[box].astype(np.float32)
        height, width = base.shape[:2]
        if min(height, width) < MIN_SIDE:
            return composite(frame, box, weight * (face[box].astype(np.float32) - base))
        cloned = self._clone(frame[box], face[box], weight[..., 0] > 0)
        return composite(frame, box, weight * (cloned.astype(np.float32) - base))

    def _clone(self, frame: np.ndarray, face: np.ndarray, domain: np.ndarray) -> np.ndarray:
        """seamlessClone on box-sized arrays, returned box-sized."""
        height, width = domain.shape

        def pad(image: np.ndarray) -> np.ndarray:
            return cv2.copyMakeBorder(image, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)

        mask = np.zeros((height + 2 * PAD, width + 2 * PAD), np.uint8)
        mask[PAD:PAD + height, PAD:PAD + width] = domain.astype(np.uint8) * 255
        # OpenCV centres the mask's bounding box on this point (x - w//2); this lands it in place
        centre = (PAD + width // 2, PAD + height // 2)
        out = cv2.seamlessClone(pad(face), pad(frame), mask, centre, MODES[self.options.mode])
        return out[PAD:PAD + height, PAD:PAD + width]
