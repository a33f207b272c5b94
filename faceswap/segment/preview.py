"""Preview grid of a segmentation net: face | truth | prediction, one row per face."""
from __future__ import annotations

import numpy as np
import torch

from faceswap.train.preview import _header

COLUMNS = ("face", "truth", "predicted")


def overlay(face: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(R, R, 3) uint8: the face with what the mask leaves out darkened and tinted red."""
    keep = mask[..., None]
    tint = np.array([180, 40, 40], np.float32)
    return np.clip(face * keep + (face * 0.35 + tint * 0.3) * (1 - keep), 0, 255).astype(np.uint8)


@torch.no_grad()
def mask_preview(net: torch.nn.Module, faces: torch.Tensor, truth: torch.Tensor) -> np.ndarray:
    """(H, W, 3) uint8. faces: (N, 3, R, R) in [0, 1]; truth: (N, 1, R, R)."""
    was_training = net.training
    net.eval()
    predicted = torch.sigmoid(net(faces))
    net.train(was_training)
    images = (faces[:, :3].permute(0, 2, 3, 1).cpu().numpy() * 255).astype(np.float32)
    rows = []
    for image, want, got in zip(images, truth[:, 0].cpu().numpy(), predicted[:, 0].cpu().numpy()):
        rows.append(np.concatenate([image.astype(np.uint8), overlay(image, want), overlay(image, got)], axis=1))
    return _header(np.concatenate(rows, axis=0), faces.shape[-1], COLUMNS)
