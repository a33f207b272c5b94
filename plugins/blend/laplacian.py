"""Laplacian-pyramid blending (Burt & Adelson, 1983): each frequency band is mixed under a
mask blurred to that band's scale, so coarse colour differences fade over a wide zone and
fine detail over a narrow one.

Blending is linear, so only the pyramid of (face - frame) is built: the change to the frame is
sum_k up_k(G_k(mask) * L_k(face - frame)). Work stays in the mask's bounding box grown by
the pyramid's reach. With ``confine`` (default) the change is finally weighted by the mask
itself, so "outside" is every pixel where the mask is 0 and those keep the frame's value
exactly. Without it the blurred bands spill past the mask edge as in the classic method;
then "outside" is every pixel the mask's pyramid does not reach: more than ``reach(levels)``
pixels (chessboard distance) from every pixel where the mask is > 0; those are exact too.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.plugin_api import API_VERSION, Blender, option

from ._region import alpha, check_inputs, composite, support_box

# Coarsest level kept at least this many pixels across.
MIN_LEVEL_SIDE = 4


def reach(levels: int) -> int:
    """How far (pixels) the 5-tap pyrDown/pyrUp kernels of ``levels`` levels can carry the mask."""
    return 4 * 2**levels + 4


class LaplacianBlender(Blender):
    name = "laplacian"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        levels: int = option(4, "pyramid levels below full resolution (fewer when the mask is small)",
                             min=0, max=8)
        confine: bool = option(True, "weight the result by the mask so nothing changes where it is 0; "
                                     "off lets coarse bands spill past the mask edge")

    def blend(self, frame: np.ndarray, face: np.ndarray, mask: np.ndarray) -> np.ndarray:
        check_inputs(frame, face, mask)
        box = support_box(mask, reach(self.options.levels))
        if box is None:
            return frame.copy()
        weight = alpha(mask, box)
        base = frame[box].astype(np.float32)
        change = self._blend_bands(face[box].astype(np.float32) - base, weight[..., 0])
        if self.options.confine:
            change *= weight
        return composite(frame, box, change)

    def _blend_bands(self, diff: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Collapse the Laplacian pyramid of ``diff`` with each band weighted by the mask's Gaussian level."""
        levels = self._levels(diff.shape[:2])
        masks, bands = [weight], []
        current = diff
        for _ in range(levels):
            smaller = cv2.pyrDown(current)
            bands.append(current - cv2.pyrUp(smaller, dstsize=current.shape[1::-1]))
            masks.append(cv2.pyrDown(masks[-1]))
            current = smaller
        bands.append(current)
        # exact zeros in the mask level give exact zeros in the change: the frame is kept
        out = bands[-1] * masks[-1][..., None]
        for band, level_mask in zip(reversed(bands[:-1]), reversed(masks[:-1]), strict=True):
            out = cv2.pyrUp(out, dstsize=band.shape[1::-1]) + band * level_mask[..., None]
        return out

    def _levels(self, shape: tuple[int, int]) -> int:
        levels = 0
        side = min(shape)
        while levels < self.options.levels and side // 2 >= MIN_LEVEL_SIDE:
            side //= 2
            levels += 1
        return levels

