"""Per-channel histogram matching: each RGB channel of the face gets the target's masked CDF.

Exact on the marginals but blind to how channels co-vary, so hues can shift where
``lct`` / ``mkl`` would keep them; cheap and robust to odd lighting.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceswap.plugin_api import API_VERSION, ColorTransfer, option

from ._stats import finish, match_1d, pixels, weights


class HistColorTransfer(ColorTransfer):
    name = "hist"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        bins: int = option(256, "histogram bins per channel", min=16, max=4096)
        strength: float = option(1.0, "how much of the transfer to apply (0 keeps the face)", min=0.0, max=1.0)

    def transfer(self, face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = weights(mask)
        if w is None:
            return finish(face, face, 1.0)
        x, y = pixels(face), pixels(target)
        out = np.stack([match_1d(x[:, c], w, y[:, c], w, self.options.bins) for c in range(3)], axis=1)
        return finish(face, out, self.options.strength)
