"""Training losses: masked pixel + multi-scale DSSIM, image gradients, eyes-and-mouth priority, mask loss,
and the optional deep terms (ST-LPIPS perceptual, ArcFace identity) every N steps.

Every weight is an option (LossConfig); the CPU default stays affordable.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from faceswap.options import option


@dataclass(frozen=True)
class LossConfig:
    """Loss terms and weights (set with -O loss.KEY=VALUE)."""

    pixel: str = option("l1", "pixel loss", choices=("l1", "mse"))
    pixel_weight: float = option(1.0, "weight of the masked pixel loss", min=0.0)
    dssim_weight: float = option(1.0, "weight of the multi-scale DSSIM loss (structure, no weights needed)", min=0.0)
    edge_weight: float = option(0.0, "weight of the image-gradient loss: L1 between the horizontal and vertical "
                                     "differences of output and target, which pays for edges a pixel loss lets "
                                     "blur (0: off)", min=0.0)
    priority_weight: float = option(2.0, "extra pixel weight on the eyes and mouth", min=0.0)
    mask_weight: float = option(1.0, "weight of the predicted-mask loss", min=0.0)
    mask_margin: float = option(0.0, "grow the region the face is learned in beyond its mask, as a fraction of "
                                     "the crop, so colours stay right where merge feathers the edge (no grey halo)",
                                min=0.0, max=0.25)
    mask_blur: float = option(0.0, "feather the region the face is learned in, as a fraction of the crop "
                                   "(DeepFaceLab blurs it)", min=0.0, max=0.25)
    lpips_weight: float = option(0.0, "weight of the ST-LPIPS perceptual loss (0: off)", min=0.0)
    lpips_net: str = option("alex", "ST-LPIPS backbone: alex (fast) or vgg (GPU)", choices=("alex", "vgg"))
    lpips_every: int = option(1, "compute the perceptual loss every N steps", min=1)
    identity_weight: float = option(0.0, "weight of the ArcFace identity loss pushing swaps to the "
                                          "source identity (0: off)", min=0.0)
    identity_every: int = option(4, "compute the identity loss every N steps", min=1)
    gan_weight: float = option(0.0, "weight of the patch-GAN term (DeepFaceLab's GAN power, e.g. 0.1): a small "
                                    "patch discriminator pushes reconstructions toward sharp real texture (0: off)",
                               min=0.0)
    gan_start: int = option(0, "iteration from which the patch GAN trains (DeepFaceLab turns it on late, once the "
                               "faces are learnt)", min=0)
    gan_dims: int = option(16, "width of the patch discriminator", min=4, max=256)
    gan_antialias: bool = option(False, "blur what the patch discriminator sees ([1 2 1] filter), so it cannot "
                                        "reward the 2-pixel checkerboard a pixel-shuffle decoder draws")
    true_face_weight: float = option(0.0, "weight of the 'true face' latent discriminator (DeepFaceLab's "
                                          "true_face_power, e.g. 0.01): pushes destination codes toward the "
                                          "source's, so swaps look more like the source (0: off)", min=0.0)


def gaussian_window(size: int = 11, sigma: float = 1.5, device: torch.device | None = None) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - size // 2
    g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(3, 1, size, size).contiguous()


def ssim(x: torch.Tensor, y: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image of (B, 3, H, W) tensors in [0, 1]."""
    pad = window.shape[-1] // 2
    conv = lambda t: F.conv2d(t, window, padding=pad, groups=3)  # noqa: E731
    mu_x, mu_y = conv(x), conv(y)
    var_x = conv(x * x) - mu_x ** 2
    var_y = conv(y * y) - mu_y ** 2
    cov = conv(x * y) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return value.flatten(1).mean(1)


def multiscale_dssim(x: torch.Tensor, y: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """(1 - SSIM) / 2 averaged over ``scales`` halvings of the resolution."""
    window = gaussian_window(device=x.device).to(x.dtype)
    total = x.new_zeros(())
    for level in range(scales):
        if level:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        total = total + ((1 - ssim(x, y, window)) / 2).mean()
    return total / scales


def gradient_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean L1 distance between the neighbour differences of two (B, C, H, W) images, both ways."""
    dx = (x[..., :, 1:] - x[..., :, :-1]) - (y[..., :, 1:] - y[..., :, :-1])
    dy = (x[..., 1:, :] - x[..., :-1, :]) - (y[..., 1:, :] - y[..., :-1, :])
    return (dx.abs().mean() + dy.abs().mean()) / 2


def loss_region(mask: torch.Tensor, margin: float, blur: float) -> torch.Tensor:
    """The (B, 1, R, R) region the face is learned in: the mask grown by ``margin`` and feathered
    by ``blur`` (both fractions of the crop)."""
    size = mask.shape[-1]
    grow = int(round(margin * size))
    if grow:
        mask = F.max_pool2d(mask, 2 * grow + 1, stride=1, padding=grow)
    sigma = blur * size
    if sigma > 0:
        radius = max(1, int(3 * sigma))
        coords = torch.arange(-radius, radius + 1, dtype=mask.dtype, device=mask.device)
        kernel = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
        kernel = kernel / kernel.sum()
        mask = F.conv2d(F.pad(mask, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
        mask = F.conv2d(F.pad(mask, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    return mask


def learning_region(mask: torch.Tensor, config: LossConfig) -> torch.Tensor:
    """The region the face is learned (and judged by the patch GAN) in, from the sample's mask."""
    if config.mask_margin or config.mask_blur:
        return loss_region(mask, config.mask_margin, config.mask_blur)
    return mask


def reconstruction_loss(pred: torch.Tensor, pred_mask: torch.Tensor, batch: dict[str, torch.Tensor],
                        config: LossConfig) -> dict[str, torch.Tensor]:
    """The weight-free terms for one person: pixel, dssim, priority and mask."""
    mask = learning_region(batch["mask"], config)
    target = batch["target"]     # the predicted mask still learns the mask itself (below)
    masked_pred, masked_target = pred * mask, target * mask
    diff = masked_pred - masked_target
    pixel = diff.abs() if config.pixel == "l1" else diff ** 2
    terms = {"pixel": pixel.mean() * config.pixel_weight}
    if config.dssim_weight:
        terms["dssim"] = multiscale_dssim(masked_pred, masked_target) * config.dssim_weight
    if config.edge_weight:
        terms["edge"] = gradient_l1(masked_pred, masked_target) * config.edge_weight
    if config.priority_weight:
        priority = batch["priority"]
        terms["priority"] = (pixel * priority).sum() / (priority.sum() * 3 + 1) * config.priority_weight
    if config.mask_weight:
        terms["mask"] = F.mse_loss(pred_mask, batch["mask"]) * config.mask_weight
    return terms
