"""A trained model, loaded for swapping: crops in, swapped faces and masks out, in batches."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from faceswap.errors import ModelError
from faceswap.model_api import SOURCE_DECODER
from faceswap.registry import Registry
from faceswap.runtime.device import Device
from faceswap.trained import load_trained_model

class FaceSwapper:
    """Encode destination faces and decode them as the source person."""

    def __init__(self, folder: Path, registry: Registry, device: Device) -> None:
        self.model, info = load_trained_model(folder, registry, device)
        if not self.model.can_swap:
            raise ModelError(f"model '{folder.name}' is a '{info['plugin']}' model with one decoder: "
                             f"it cannot swap faces (train an sae model)")
        self.device = torch.device(device.torch_device)
        self.resolution = self.model.resolution
        self.coverage = self.model.coverage
        self.info = info

    @torch.no_grad()
    def swap(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """crops: (N, R, R, 3) uint8 -> rgb (N, R, R, 3) float32 [0, 1], mask (N, R, R) float32."""
        x = torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        rgb, mask = self.model.decode(self.model.encode(x).code, SOURCE_DECODER)
        return rgb.permute(0, 2, 3, 1).float().cpu().numpy(), mask[:, 0].float().cpu().numpy()
