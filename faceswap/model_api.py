"""Base class of model plugins (kept apart from plugin_api so extraction never imports torch)."""
from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import torch
from torch import nn

from faceswap.plugin_api import NoOptions


class FaceModel(nn.Module):
    """An autoencoder: a shared ``encode`` and one decoder per identity.

    Built from its Options; the trainer, losses and optimiser stay in core.
    x: (B, 3, R, R) float32 in [0, 1]. ``decode`` returns rgb (B, 3, R, R) in [0, 1]
    and mask (B, 1, R, R) in [0, 1].
    """

    kind: ClassVar[str] = "model"
    name: ClassVar[str]
    version: ClassVar[str]
    api_version: ClassVar[int]
    Options: ClassVar[type] = NoOptions
    identities: ClassVar[int] = 2     # decoders; swapping needs at least two

    def __init__(self, options: Any, device: Any = None) -> None:
        super().__init__()
        self.options = options
        self.device_spec = device

    @abstractmethod
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent code for a batch of faces."""

    @abstractmethod
    def decode(self, z: torch.Tensor, identity: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(rgb, mask) for latent ``z`` through decoder ``identity``."""

    def extra_losses(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Model-specific loss terms (e.g. a VAE's KL); none by default."""
        return {}
