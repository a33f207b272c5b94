"""Sliced optimal transport: gradient steps on the sliced Wasserstein distance
(Rabin, Peyre, Delon & Bernot, 2011; DeepFaceLab ships a variant).

Each step projects face and target pixels on a few random directions, finds where 1-D optimal
transport (quantile matching, masked) would move each projection, and moves the pixels by the
average of those displacements. Unlike ``idt`` the directions are independent, not a rotated basis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceswap.plugin_api import API_VERSION, ColorTransfer, option

from ._stats import finish, match_1d, pixels, weights


class SotColorTransfer(ColorTransfer):
    name = "sot"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        iterations: int = option(8, "gradient steps", min=1, max=100)
        projections: int = option(4, "random directions per step", min=1, max=32)
        bins: int = option(128, "histogram bins per projection", min=16, max=1024)
        seed: int = option(0, "seed of the random directions")
        strength: float = option(1.0, "how much of the transfer to apply (0 keeps the face)", min=0.0, max=1.0)

    def transfer(self, face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = weights(mask)
        if w is None:
            return finish(face, face, 1.0)
        rng = np.random.default_rng(self.options.seed)
        x = pixels(face).copy()
        y = pixels(target)
        count = self.options.projections
        # random unit directions sum d d^T to about count/3 * I: rescale so a step goes the whole way
        step_size = np.float32(3.0 / count)
        for _ in range(self.options.iterations):
            directions = rng.standard_normal((3, count))
            directions = (directions / np.linalg.norm(directions, axis=0)).astype(np.float32)
            proj_x, proj_y = x @ directions, y @ directions
            shift = np.stack([match_1d(proj_x[:, k], w, proj_y[:, k], w, self.options.bins)
                              for k in range(count)], axis=1) - proj_x
            x += step_size * (shift @ directions.T)
        return finish(face, x, self.options.strength)
