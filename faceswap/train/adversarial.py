"""Adversarial training terms from DeepFaceLab: the patch GAN ("GAN power") and the "true face"
latent discriminator.

Both discriminators are training state, not part of the face model: merge, export and priors
never see them. They are trained in the same backward pass as the model: a generator term
calls its discriminator with detached parameters (so it moves only the model), and a
discriminator term sees detached model outputs (so it moves only the discriminator). Their
own optimiser is stepped beside the model's.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from faceswap.train.checkpoint import Checkpoint
from faceswap.train.losses import LossConfig

log = logging.getLogger(__name__)

DISCRIMINATOR_PREFIX = "disc_"      # loss terms of the discriminators: trained on, not part of the model's total
ADAM_BETAS = (0.5, 0.999)           # the usual GAN setting: a short memory follows a moving opponent


class PatchDiscriminator(nn.Module):
    """Scores overlapping patches of a (B, 3, R, R) face in [0, 1]: real faces high, reconstructions low.

    Three stride-2 convolutions (receptive field ~30 px) and a 1-channel head: it judges local
    texture and sharpness, not identity. No normalisation layers, so a batch's statistics never
    leak between real and fake halves.
    """

    def __init__(self, dims: int = 16, antialias: bool = False) -> None:
        super().__init__()
        # [1 2 1] x [1 2 1] / 16 blurs the input to zero response at the 2-pixel period: the discriminator
        # then cannot score (or reward) the checkerboard a pixel-shuffle decoder can draw
        kernel = torch.tensor([1.0, 2.0, 1.0])
        kernel = (kernel[:, None] * kernel[None, :] / 16).expand(3, 1, 3, 3).contiguous()
        self.register_buffer("blur", kernel if antialias else None, persistent=False)
        layers: list[nn.Module] = []
        channels = 3
        for width in (dims, dims * 2, dims * 4):
            layers += [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels = width
        layers.append(nn.Conv2d(channels, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, R, R) -> (B, 1, R/8, R/8) logits."""
        if self.blur is not None:
            x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.blur.to(x.dtype), groups=3)
        return self.net(x)


class CodeDiscriminator(nn.Module):
    """Tells source codes (real) from destination codes (fake): (B, C, H, W) or (B, C) -> (B, 1) logits."""

    def __init__(self, channels: int, spatial: bool, width: int = 256) -> None:
        super().__init__()
        self.spatial = spatial
        if spatial:
            self.net = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2),
                                     nn.Conv2d(width, width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                                     nn.Conv2d(width, 1, 1))
        else:
            self.net = nn.Sequential(nn.Linear(channels, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        out = self.net(code)
        return out.flatten(1).mean(1, keepdim=True) if self.spatial else out


class Adversary(nn.Module):
    """The discriminators a LossConfig asks for; ``patch`` and ``code`` are None when off."""

    def __init__(self, config: LossConfig, code_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.config = config
        self.patch = PatchDiscriminator(config.gan_dims, config.gan_antialias) if config.gan_weight > 0 else None
        self.code = None
        if config.true_face_weight > 0:
            self.code = CodeDiscriminator(code_shape[0], spatial=len(code_shape) == 3)

    def gan_active(self, step: int) -> bool:
        return self.patch is not None and step >= self.config.gan_start

    def patch_terms(self, faces: Mapping[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """``faces``: side -> (reconstruction, real target), both already masked, (B, 3, R, R).

        Returns ``<side>_gan`` (the model's term) and ``disc_gan`` (the discriminator's).
        """
        terms: dict[str, torch.Tensor] = {}
        disc = []
        for side, (fake, real) in faces.items():
            terms[f"{side}_gan"] = _bce(_frozen(self.patch, fake), True) * self.config.gan_weight
            disc += [_bce(self.patch(real), True), _bce(self.patch(fake.detach()), False)]
        terms[f"{DISCRIMINATOR_PREFIX}gan"] = sum(disc) / len(disc)
        return terms

    def code_terms(self, src_code: torch.Tensor, dst_code: torch.Tensor) -> dict[str, torch.Tensor]:
        """``true_face``: destination codes should pass as source codes; ``disc_true_face``: tell them apart."""
        weight = self.config.true_face_weight
        disc = (_bce(self.code(src_code.detach()), True) + _bce(self.code(dst_code.detach()), False)) / 2
        return {"true_face": _bce(_frozen(self.code, dst_code), True) * weight,
                f"{DISCRIMINATOR_PREFIX}true_face": disc}


def build_adversary(config: LossConfig, model: nn.Module, resolution: int, seed: int,
                    device: torch.device) -> Adversary | None:
    """The discriminators ``config`` asks for (None when neither is on).

    Their starting weights depend on the run's seed only, drawn from a private random stream,
    so turning one on (or resuming) never shifts anything else the global generator draws.
    """
    if config.gan_weight <= 0 and config.true_face_weight <= 0:
        return None
    probe = next(model.parameters())
    with torch.random.fork_rng(devices=[probe.device] if probe.device.type == "cuda" else []):
        training = model.training
        model.eval()        # a probe for the code's shape: no running statistics may move
        with torch.no_grad():
            zeros = torch.zeros(1, 3, resolution, resolution, dtype=probe.dtype, device=probe.device)
            code = model.encode(zeros).code
        model.train(training)
        torch.manual_seed(seed * 7919 + 17)
        adversary = Adversary(config, tuple(code.shape[1:]))
    return adversary.to(device)


def make_adversary_optimizer(adversary: Adversary, lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(adversary.parameters(), lr=lr, betas=ADAM_BETAS)


def prepare_adversary(config: LossConfig, model: nn.Module, resolution: int, seed: int, device: torch.device,
                      lr: float, saved: Checkpoint | None) -> tuple[Adversary | None, torch.optim.Optimizer | None]:
    """The discriminators and their optimiser, continued from ``saved`` when it holds the same set."""
    adversary = build_adversary(config, model, resolution, seed, device)
    if adversary is None:
        return None, None
    if adversary.code is not None and not getattr(model, "can_swap", True):
        log.warning("loss.true_face_weight has no effect on a one-decoder model: there is no destination code "
                    "to push toward the source's")
    optimizer = make_adversary_optimizer(adversary, lr)
    stored = saved.adversary if saved is not None else None
    if stored is not None and set(stored) == set(adversary.state_dict()) and all(
            stored[k].shape == v.shape for k, v in adversary.state_dict().items()):
        adversary.load_state_dict(stored)
        optimizer.load_state_dict(saved.adversary_optimizer)
        for group in optimizer.param_groups:
            group["lr"] = lr            # this run's --lr, as for the model's optimiser
    elif saved is not None:
        log.warning("the discriminators start afresh: %s", "the checkpoint holds another set of them (different "
                    "gan/true_face options)" if stored is not None else "the checkpoint was trained without them")
    return adversary, optimizer


def _frozen(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module(x)`` with its parameters detached: gradients reach ``x`` only."""
    params = {name: p.detach() for name, p in module.named_parameters()}
    return functional_call(module, params, (x,))


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())
