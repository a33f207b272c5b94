"""Iterative distribution transfer: repeated 1-D histogram matching along random rotated axes
(Pitie, Kokaram & Dahyot, 2005).

Each iteration picks a random orthonormal basis, matches the face's masked distribution to the
target's along each of its three axes, and rotates back; the full 3-D distributions converge.
The generator is seeded per call, so the same inputs always give the same output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceswap.plugin_api import API_VERSION, ColorTransfer, option

from ._stats import finish, match_1d, pixels, weights


class IdtColorTransfer(ColorTransfer):
    name = "idt"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        iterations: int = option(6, "random rotations to match along", min=1, max=50)
        bins: int = option(128, "histogram bins per axis", min=16, max=1024)
        seed: int = option(0, "seed of the random rotations")
        strength: float = option(1.0, "how much of the transfer to apply (0 keeps the face)", min=0.0, max=1.0)

    def transfer(self, face: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = weights(mask)
        if w is None:
            return finish(face, face, 1.0)
        rng = np.random.default_rng(self.options.seed)
        x = pixels(face).copy()
        y = pixels(target)
        for step in range(self.options.iterations):
            # the first pass uses the RGB axes themselves, later ones random rotations
            basis = np.eye(3) if step == 0 else np.linalg.qr(rng.standard_normal((3, 3)))[0]
            basis = basis.astype(np.float32)
            proj_x, proj_y = x @ basis, y @ basis
            moved = np.stack([match_1d(proj_x[:, k], w, proj_y[:, k], w, self.options.bins)
                              for k in range(3)], axis=1)
            x += (moved - proj_x) @ basis.T
        return finish(face, x, self.options.strength)
