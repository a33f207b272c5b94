"""SAE's encoder, bottleneck and decoder (DeepFaceLab's DeepFakeArchi, without its 't' and 'c' options)."""
from __future__ import annotations

import torch
from torch import nn

from faceswap_plugins.model.sae.layers import Downscale, ResidualBlock, SubPixelOutput, Upscale


class Encoder(nn.Sequential):
    """(B, 3, R, R) -> (B, 8 e_dims, R/16, R/16)."""

    def __init__(self, e_dims: int) -> None:
        dims = [3, e_dims, e_dims * 2, e_dims * 4, e_dims * 8]
        super().__init__(*(Downscale(a, b) for a, b in zip(dims, dims[1:])))


class Inter(nn.Module):
    """Bottleneck: flatten -> ae_dims -> an (ae_out, low, low) map, upscaled to 2 low."""

    def __init__(self, in_features: int, ae_dims: int, ae_out: int, low_res: int) -> None:
        super().__init__()
        self.shape = (ae_out, low_res, low_res)
        self.dense1 = nn.Linear(in_features, ae_dims)
        self.dense2 = nn.Linear(ae_dims, ae_out * low_res * low_res)
        self.upscale = Upscale(ae_out, ae_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dense2(self.dense1(x.flatten(1)))
        return self.upscale(x.view(-1, *self.shape))


class Decoder(nn.Module):
    """(B, C, r, r) -> rgb (B, 3, 8r, 8r) and mask (B, 1, 8r, 8r), both in [0, 1]; with
    ``double_res`` (DFL ``-d``) the last layer makes 2x2 pixels per position: (B, 3, 16r, 16r)."""

    def __init__(self, cin: int, d_dims: int, d_mask_dims: int, double_res: bool = False) -> None:
        super().__init__()
        d, m = d_dims, d_mask_dims
        # layers are made in their order of use: their default initialisation draws from the RNG in
        # this order, which models without their own initialisation (vae) depend on
        self.face = nn.Sequential(
            Upscale(cin, d * 8), ResidualBlock(d * 8),
            Upscale(d * 8, d * 4), ResidualBlock(d * 4),
            Upscale(d * 4, d * 2), ResidualBlock(d * 2),
            SubPixelOutput(d * 2, 3) if double_res else nn.Conv2d(d * 2, 3, 1),
        )
        mask = [Upscale(cin, m * 8), Upscale(m * 8, m * 4), Upscale(m * 4, m * 2)]
        # DFL's -d mask head: one more upscale to full resolution, at half the width
        mask += [Upscale(m * 2, m), nn.Conv2d(m, 1, 1)] if double_res else [nn.Conv2d(m * 2, 1, 1)]
        self.mask = nn.Sequential(*mask)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.sigmoid(self.face(z)), torch.sigmoid(self.mask(z))
