"""Identity loss: push swapped faces toward the source person's ArcFace identity.

The model's crops (resolution R, coverage c) are warped, differentiably, onto ArcFace's
112 px five-point template using the canonical template's eye, nose and mouth points.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faceswap.align.template import ARCFACE_5, five_points, template_pixels
from faceswap.align.umeyama import umeyama
from faceswap.train.identity_net import SIZE, ArcFaceNet



def crop_to_arcface_theta(resolution: int, coverage: float) -> Tensor:
    """``(2, 3)`` affine_grid theta sampling a 112 px ArcFace crop out of a model crop."""
    to_arc = np.vstack([umeyama(five_points(template_pixels(resolution, coverage)), ARCFACE_5), [0, 0, 1]])
    from_arc = np.linalg.inv(to_arc)                      # ArcFace pixels -> model-crop pixels

    def normaliser(size: int) -> np.ndarray:              # pixels -> [-1, 1] (align_corners=False)
        return np.array([[2 / size, 0, 1 / size - 1], [0, 2 / size, 1 / size - 1], [0, 0, 1]])

    theta = normaliser(resolution) @ from_arc @ np.linalg.inv(normaliser(SIZE))
    return torch.tensor(theta[:2], dtype=torch.float32)


class IdentityLoss(nn.Module):
    """forward(swapped, source) -> 1 - cosine(ArcFace(swapped), mean ArcFace identity of source)."""

    def __init__(self, resolution: int, coverage: float) -> None:
        super().__init__()
        self.net = ArcFaceNet()
        self.register_buffer("theta", crop_to_arcface_theta(resolution, coverage))

    def align(self, faces: Tensor) -> Tensor:
        grid = F.affine_grid(self.theta.expand(faces.shape[0], 2, 3), [faces.shape[0], 3, SIZE, SIZE],
                             align_corners=False)
        return F.grid_sample(faces, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def forward(self, swapped: Tensor, source: Tensor) -> Tensor:
        with torch.no_grad():
            target = F.normalize(self.net(self.align(source)).mean(0), dim=0)
        return (1 - self.net(self.align(swapped)) @ target).mean()
