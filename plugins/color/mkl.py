"""Monge-Kantorovitch linear transfer: the affine map that matches mean and covariance while
moving colours the least (Pitie & Kokaram, 2007).

A = C_f^-1/2 (C_f^1/2 C_t C_f^1/2)^1/2 C_f^-1/2 is the optimal-transport map between the two
Gaussians fitted to the masked pixels; every square root comes from an eigen-decomposition.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceswap.plugin_api import API_VERSION, ColorTransfer, option

from ._stats import finish, mean_cov, pixels, sym_power, weights


class MklColorTransfer(ColorTransfer):
    name = "mkl"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        strength: float = option(1.0, "how much of the transfer to apply (0 keeps the face)", min=0.0, max=1.0)

    def transfer(self, face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = weights(mask)
        if w is None:
            return finish(face, face, 1.0)
        x = pixels(face)
        mean_f, cov_f = mean_cov(x, w)
        mean_t, cov_t = mean_cov(pixels(target), w)
        root_f = sym_power(cov_f, 0.5)
        inv_root_f = sym_power(cov_f, -0.5)
        matrix = inv_root_f @ sym_power(root_f @ cov_t @ root_f, 0.5) @ inv_root_f
        offset = mean_t - matrix @ mean_f
        out = x @ matrix.T.astype(np.float32) + offset.astype(np.float32)
        return finish(face, out, self.options.strength)
