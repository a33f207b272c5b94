"""The score's own identity model: dlib's 128-d face ResNet, a network training never sees.

Training's identity loss uses ArcFace (w600k_mbf); judging swaps with that same network
would flatter models trained against it, so the score uses dlib's ResNet
(`face-recognition-models`, CC0 weights, offline), run in torch (score/dlib_resnet.py,
~20x faster than dlib's own CPU build, same descriptors); dlib itself only cuts the chips. dlib vectors all lie in one narrow
cone (raw cosines of different people are ~0.8), so they are centred on the mean of a
reference population before the cosine: then the same person scores ~0.9 and other
people ~0 (scripts/derive_identity_centre.py; numbers in the README).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceswap.score.dlib_resnet import DlibFaceResNet
from faceswap.score.identity_centre import IDENTITY_CENTRE
from faceswap.weights import WeightFile, locate

DLIB_RESNET = WeightFile(
    filename="dlib_face_recognition_resnet_model_v1.dat",
    sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    package="face_recognition_models", subdir="models", pip_name="face-recognition-models==0.3.0",
)
CHIP_SIZE = 150
CHIP_PADDING = 0.25


class ScoreEmbedder:
    """Faces (a frame and their 68 landmarks) -> centred unit identity vectors ``(N, 128)``."""

    def __init__(self) -> None:
        import dlib     # imported here: only scoring needs it

        self._dlib = dlib
        self._net = DlibFaceResNet.from_file(locate(DLIB_RESNET))

    def chip(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The 150 px aligned chip dlib's network expects, ``(150, 150, 3)`` uint8."""
        dlib = self._dlib
        x0, y0 = np.floor(points.min(0)).astype(int)
        x1, y1 = np.ceil(points.max(0)).astype(int)
        shape = dlib.full_object_detection(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)),
                                           [dlib.point(int(round(x)), int(round(y))) for x, y in points])
        return np.asarray(dlib.get_face_chip(np.ascontiguousarray(image), shape, CHIP_SIZE, CHIP_PADDING))

    def raw_descriptors(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """dlib's own 128-d vectors of 150 px chips, ``(N, 128)`` float64 (not centred)."""
        if not len(chips):
            return np.zeros((0, 128))
        return self._net.embed_chips(np.stack(chips))

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Centred unit vectors ``(N, 128)`` float32 of 150 px chips."""
        return centred_unit(self.raw_descriptors(chips)).reshape(-1, 128)

    def embed(self, images: Sequence[np.ndarray], points: Sequence[np.ndarray]) -> np.ndarray:
        """``images[i]`` holds face i with ``(68, 2)`` landmarks ``points[i]``."""
        return self.embed_chips([self.chip(image, p) for image, p in zip(images, points)])


def centred_unit(raw: np.ndarray) -> np.ndarray:
    """Raw dlib vectors ``(N, 128)`` -> centred, unit length, float32."""
    centred = np.asarray(raw, np.float64) - IDENTITY_CENTRE
    return (centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def unit_mean(vectors: np.ndarray) -> np.ndarray:
    """The normalised mean of unit vectors ``(N, D)`` -> ``(D,)``."""
    mean = np.asarray(vectors, np.float64).mean(0)
    return (mean / max(np.linalg.norm(mean), 1e-12)).astype(np.float32)
