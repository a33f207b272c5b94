"""One training step's forward pass for both people, as a module DDP can wrap."""
from __future__ import annotations

import torch
from torch import nn

from faceswap.model_api import SOURCE_DECODER
from faceswap.train.adversarial import Adversary
from faceswap.train.losses import LossConfig, learning_region, reconstruction_loss


class AutoencoderStep(nn.Module):
    """forward(batch) -> named loss terms; all model calls go through here so DDP syncs them.

    Side modules (perceptual, identity nets) are frozen and called every N steps. The
    discriminators (``adversary``) train in the same backward pass, on terms named ``disc_*``.
    """

    def __init__(self, model: nn.Module, config: LossConfig, perceptual: nn.Module | None = None,
                 identity: nn.Module | None = None, adversary: Adversary | None = None) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.perceptual = perceptual
        self.identity = identity
        self.adversary = adversary

    def forward(self, batch: dict[str, dict[str, torch.Tensor]], step: int) -> dict[str, torch.Tensor]:
        config = self.config
        terms: dict[str, torch.Tensor] = {}
        swaps = self.model.can_swap     # a one-decoder model (vae) learns both halves alike
        codes, faces = {}, {}
        for decoder, side in enumerate(("src", "dst")):
            data = batch[side]
            encoded = self.model.encode(data["input"])
            rgb, mask = self.model.decode(encoded.code, decoder if swaps else 0)
            for name, value in reconstruction_loss(rgb, mask, data, config).items():
                terms[f"{side}_{name}"] = value
            for name, value in self.model.extra_losses(encoded).items():
                terms[f"{side}_{name}"] = value
            if self.perceptual is not None and step % config.lpips_every == 0:
                m = data["mask"]
                terms[f"{side}_lpips"] = self.perceptual(rgb * m, data["target"] * m).mean() * config.lpips_weight
            codes[side] = encoded.code
            if self.adversary is not None and self.adversary.gan_active(step):
                region = learning_region(data["mask"], config)
                faces[side] = (rgb * region, data["target"] * region)
        if self.identity is not None and swaps and step % config.identity_every == 0:
            swapped, _ = self.model.decode(self.model.encode(batch["dst"]["target"]).code, SOURCE_DECODER)
            terms["identity"] = self.identity(swapped, batch["src"]["target"]) * config.identity_weight
        if faces:
            terms.update(self.adversary.patch_terms(faces))
        if self.adversary is not None and self.adversary.code is not None and swaps:
            terms.update(self.adversary.code_terms(codes["src"], codes["dst"]))
        return terms


def to_device(batch: dict[str, dict[str, torch.Tensor]], device: torch.device) -> dict[str, dict[str, torch.Tensor]]:
    return {side: {k: v.to(device, non_blocking=True) for k, v in data.items()} for side, data in batch.items()}
