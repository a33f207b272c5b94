"""No colour transfer: keep the model's own colours."""
from __future__ import annotations

import numpy as np

from faceswap.plugin_api import API_VERSION, ColorTransfer


class NoColorTransfer(ColorTransfer):
    name = "none"
    version = "1.0"
    api_version = API_VERSION

    def transfer(self, face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # a copy, so callers may write into the result without touching their input
        return np.array(face, dtype=np.float32, copy=True)
