"""A convolutional beta-VAE: one encoder to a Gaussian latent, one decoder (face + mask).

Samples from the prior make new faces; encoding with the mean gives a smooth latent
space for morphing and attribute arithmetic. The KL term ramps up over ``kl_warmup``
training steps (a step counter buffer is saved with the weights, so resume keeps it).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from faceswap.model_api import Encoded, FaceModel, LatentSampler, ModelOptions
from faceswap.plugin_api import API_VERSION, option
from faceswap_plugins.model.sae.blocks import Decoder, Encoder


class VaeModel(FaceModel, LatentSampler):
    name = "vae"
    version = "1.0"
    api_version = API_VERSION
    decoder_count = 1

    @dataclass(frozen=True)
    class Options(ModelOptions):
        resolution: int = option(64, "side of the faces (multiple of 16)", min=64, max=512, locked=True,
                                 multiple_of=16)
        latent_dims: int = option(128, "size of the latent code", min=8, max=1024, locked=True)
        e_dims: int = option(32, "encoder width", min=8, max=256, locked=True)
        d_dims: int = option(16, "decoder width", min=4, max=256, locked=True)
        d_mask_dims: int = option(8, "mask decoder width", min=4, max=256, locked=True)
        kl_weight: float = option(0.002, "weight of the KL divergence (beta)", min=0.0)
        kl_warmup: int = option(1000, "training batches over which the KL weight ramps up from 0 "
                                      "(both halves of a step count)", min=0)

    PRESETS = {"quick": {"resolution": 64, "latent_dims": 128}, "full": {"resolution": 128, "latent_dims": 512,
                                                                         "e_dims": 64, "d_dims": 48, "d_mask_dims": 16}}

    def __init__(self, options: Options, device=None) -> None:
        super().__init__(options, device)
        o = options
        low = o.resolution // 16
        self.encoder = Encoder(o.e_dims)
        features = o.e_dims * 8 * low * low
        self.to_stats = nn.Linear(features, 2 * o.latent_dims)
        self.from_latent = nn.Linear(o.latent_dims, o.latent_dims * low * low)
        self.low = low
        self.decoder_in = nn.Sequential(nn.Conv2d(o.latent_dims, o.latent_dims * 4, 3, padding=1),
                                        nn.LeakyReLU(0.1, inplace=True), nn.PixelShuffle(2))
        self.decoder = Decoder(o.latent_dims, o.d_dims, o.d_mask_dims)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def encode(self, x: torch.Tensor) -> Encoded:
        """The latent mean in eval mode; a reparameterised sample while training (with the
        mean and log-variance the KL term needs)."""
        mu, logvar = self.to_stats(self.encoder(x).flatten(1)).chunk(2, dim=1)
        if not self.training:
            return Encoded(mu)
        logvar = logvar.clamp(-10, 10)
        return Encoded(mu + torch.randn_like(mu) * torch.exp(0.5 * logvar), {"mean": mu, "logvar": logvar})

    def decode(self, code: torch.Tensor, decoder: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.from_latent(code).view(-1, self.options.latent_dims, self.low, self.low)
        return self.decoder(self.decoder_in(x))

    def extra_losses(self, encoded: Encoded) -> dict[str, torch.Tensor]:
        """KL(q(z|x) || N(0, I)) of a training encode, weighted and warmed up."""
        if "mean" not in encoded.extras:
            return {}
        mu, logvar = encoded.extras["mean"], encoded.extras["logvar"]
        kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu ** 2 - logvar.exp(), dim=1))
        self.steps += 1
        warm = min(1.0, float(self.steps) / self.options.kl_warmup) if self.options.kl_warmup else 1.0
        return {"kl": kl * self.options.kl_weight * warm}

    @torch.no_grad()
    def sample(self, count: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """``count`` latent codes from the prior, scaled by ``temperature``."""
        device = next(self.parameters()).device
        return torch.randn(count, self.options.latent_dims, generator=generator).to(device) * temperature
