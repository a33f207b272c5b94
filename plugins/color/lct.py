"""Linear colour transfer: an affine RGB map giving the face the target's masked mean and covariance.

Any A with A C_face A^T = C_target matches second moments; ``pca`` takes the symmetric square
roots (C_t^1/2 C_f^-1/2), ``chol`` the Cholesky factors (L_t L_f^-1), which may rotate hues more.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceswap.plugin_api import API_VERSION, ColorTransfer, option

from ._stats import finish, mean_cov, pixels, sym_power, weights


class LctColorTransfer(ColorTransfer):
    name = "lct"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        mode: str = option("pca", "matrix square root: pca (symmetric) or chol (Cholesky)",
                           choices=("pca", "chol"))
        strength: float = option(1.0, "how much of the transfer to apply (0 keeps the face)", min=0.0, max=1.0)

    def transfer(self, face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = weights(mask)
        if w is None:
            return finish(face, face, 1.0)
        x = pixels(face)
        mean_f, cov_f = mean_cov(x, w)
        mean_t, cov_t = mean_cov(pixels(target), w)
        if self.options.mode == "chol":
            matrix = np.linalg.cholesky(cov_t) @ np.linalg.inv(np.linalg.cholesky(cov_f))
        else:
            matrix = sym_power(cov_t, 0.5) @ sym_power(cov_f, -0.5)
        # fold the mean shift into one offset so the per-pixel work is a single matmul
        offset = mean_t - matrix @ mean_f
        out = x @ matrix.T.astype(np.float32) + offset.astype(np.float32)
        return finish(face, out, self.options.strength)
