"""The layers SAE builds from (DeepFaceLab's DeepFakeArchi, core/leras/archis/DeepFakeArchi.py),
and their initialisation."""
from __future__ import annotations

import torch
from torch import nn


def _act() -> nn.Module:
    return nn.LeakyReLU(0.1, inplace=True)


class Downscale(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 5, stride=2, padding=2), _act())


class Upscale(nn.Sequential):
    """Double the resolution: conv to 4x channels, then pixel shuffle."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout * 4, 3, padding=1), _act(), nn.PixelShuffle(2))


class SubPixelOutput(nn.Sequential):
    """The last layer of a double-resolution decoder (DeepFaceLab's ``-d``): each position of the
    half-resolution features makes a 2x2 block of output pixels. (DFL concatenates one 1x1 and three
    3x3 convs before its depth_to_space; one 3x3 conv to 4x channels spans the same functions.)"""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.PixelShuffle(2))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    """Scale each sample's features to unit root-mean-square (DeepFaceLab's ``-u``: the encoder's
    flattened output, ``nn.pixel_norm(x, axes=-1)`` in core/leras/ops)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=tuple(range(1, x.dim())), keepdim=True) + 1e-6)


def initialise(model: nn.Module) -> None:
    """Xavier-uniform weights and zero biases (as DeepFaceLab), and ICNR for the convs before a
    pixel shuffle: the 4 sub-pixels of each output channel start equal, so a new model upsamples
    like nearest-neighbour instead of printing a 2 px grid."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    for module in model.modules():
        if isinstance(module, (Upscale, SubPixelOutput)):
            conv = module[0]
            out, cin, kh, kw = conv.weight.shape
            sub = torch.empty(out // 4, cin, kh, kw)
            nn.init.xavier_uniform_(sub)
            with torch.no_grad():
                conv.weight.copy_(sub.repeat_interleave(4, dim=0))
