"""Landmark-hull masks: the convex hull of the 68 points, optionally raised over the forehead.

The 68 points stop at the brows, so ``extended`` lifts the brow points along the face's
vertical axis to cover the forehead, close to DeepFaceLab's whole-face mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.plugin_api import API_VERSION, Masker, option

BROWS = slice(17, 27)
NOSE_BRIDGE_TOP, CHIN = 27, 8


class HullMasker(Masker):
    name = "hull"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        feather: float = option(0.02, "edge blur as a fraction of the face size", min=0.0, max=0.2)

    def mask(self, faces: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return np.stack([self._one(faces.shape[1], self.outline(points)) for points in landmarks])

    def outline(self, points: np.ndarray) -> np.ndarray:
        """The points whose hull is the mask."""
        return points

    def _one(self, size: int, points: np.ndarray) -> np.ndarray:
        mask = np.zeros((size, size), np.uint8)
        hull = cv2.convexHull(np.round(points).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA)
        radius = int(round(self.options.feather * size))
        if radius > 0:
            mask = cv2.GaussianBlur(mask, (2 * radius + 1, 2 * radius + 1), 0)
        return mask.astype(np.float32) / 255.0


class ExtendedHullMasker(HullMasker):
    name = "extended"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        feather: float = option(0.02, "edge blur as a fraction of the face size", min=0.0, max=0.2)
        forehead: float = option(0.45, "how far the brows are raised, as a fraction of the "
                                       "nose-bridge-to-chin length", min=0.0, max=1.5)

    def outline(self, points: np.ndarray) -> np.ndarray:
        up = points[NOSE_BRIDGE_TOP] - points[CHIN]
        raised = points[BROWS] + up * self.options.forehead
        return np.concatenate([points, raised])
