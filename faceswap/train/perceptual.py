"""Shift-tolerant LPIPS (ST-LPIPS) as a frozen, differentiable perceptual distance.

The weights are the ``.pth`` files that ``stlpips-pytorch==0.0.2`` ships. Only those
files are read: the package's own modules import torchvision, IPython and torchsummary,
and installing it with its dependencies would replace a CPU torch with a CUDA build,
hence ``--no-deps``. The network below is written to match the state-dict keys of
those files, so loading is strict.

The backbones are AlexNet / VGG16 feature stacks in which every stride-2 step is a
stride-1 op followed by a blur-pool (binomial 3x3 filter, reflection padding, stride 2),
which makes the features tolerant to small shifts. Per LPIPS, the unit-normalised
feature differences of five stages are weighted by 1x1 heads and averaged over space.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faceswap.errors import ModelError
from faceswap.weights import WeightFile, locate

INSTALL = "--no-deps stlpips-pytorch==0.0.2"

WEIGHTS = {
    "alex": WeightFile(
        filename="alex_shift_tolerant.pth",
        sha256="b356b382f96010f77d085ee8343ecd9fd322d0a56e8de2b2d0549fafcad8b9ee",
        package="stlpips_pytorch", subdir="weights/vST0.0", pip_name=INSTALL,
    ),
    "vgg": WeightFile(
        filename="vgg_shift_tolerant.pth",
        sha256="44597da68f49c1837c100ff52299050f274d102eb102e5837178c79be6f0e250",
        package="stlpips_pytorch", subdir="weights/vST0.0", pip_name=INSTALL,
    ),
}

# LPIPS v0.1 input whitening, on inputs in [-1, 1]; also stored in the .pth files.
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


class BlurPool(nn.Module):
    """Anti-aliased stride-2 downsampling: reflection-pad 2, binomial 3x3 blur, stride 2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = taps[:, None] * taps[None, :]
        # A buffer, not a constant, because the .pth files carry it under "<layer>.filt".
        self.register_buffer("filt", (kernel / kernel.sum()).expand(channels, 1, 3, 3).clone())

    def forward(self, x: Tensor) -> Tensor:
        x = F.pad(x, (2, 2, 2, 2), mode="reflect")
        return F.conv2d(x, self.filt, stride=2, groups=x.shape[1])


def _alex_layers() -> list[nn.Module]:
    return [
        nn.Conv2d(3, 64, 11, stride=1, padding=2), BlurPool(64), nn.ReLU(),                      # 0-2
        nn.MaxPool2d(3, stride=1), BlurPool(64), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),    # 3-6
        nn.MaxPool2d(3, stride=1), BlurPool(192), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),  # 7-10
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),                                            # 11-12
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),                                            # 13-14
    ]


def _vgg_layers() -> list[nn.Module]:
    layers: list[nn.Module] = []
    channels = 3
    # VGG16 ("D") up to relu5_3; "M" is max-pool 2 at stride 1, then a blur-pool.
    for item in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512):
        if item == "M":
            layers += [nn.MaxPool2d(2, stride=1), BlurPool(channels)]
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU()]
            channels = int(item)
    return layers


# (layers, where each of the five stages ends, channels of each stage's output)
_ARCHS = {
    "alex": (_alex_layers, (3, 7, 11, 13, 15), (64, 192, 384, 256, 256)),
    "vgg": (_vgg_layers, (4, 10, 18, 26, 34), (64, 128, 256, 512, 512)),
}


class _Backbone(nn.Module):
    """Five feature stages; layer names keep their index in the full stack, as in the .pth."""

    def __init__(self, layers: list[nn.Module], ends: tuple[int, ...]) -> None:
        super().__init__()
        start = 0
        for stage, end in enumerate(ends, 1):
            named = OrderedDict((str(i), layers[i]) for i in range(start, end))
            self.add_module(f"slice{stage}", nn.Sequential(named))
            start = end

    def forward(self, x: Tensor) -> list[Tensor]:
        features = []
        for stage in self.children():
            x = stage(x)
            features.append(x)
        return features


class _ScalingLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.shift) / self.scale


class _Head(nn.Module):
    """1x1 weighting of one stage's squared feature differences, averaged over space."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        # Named "1" because index 0 held a dropout in training; the .pth keys are lin<k>.model.1.weight.
        self.model = nn.Sequential(OrderedDict([("1", nn.Conv2d(channels, 1, 1, bias=False))]))

    def forward(self, diff: Tensor) -> Tensor:
        return self.model(diff).mean((1, 2, 3))


def _unit(features: Tensor) -> Tensor:
    # Unit length along channels. The 1e-20 inside the root (LPIPS adds 1e-10 outside) keeps
    # the gradient finite where a whole feature vector is zero after ReLU; values match LPIPS's.
    return features / torch.sqrt((features * features).sum(1, keepdim=True) + 1e-20)


class STLPIPS(nn.Module):
    """Frozen ST-LPIPS distance between two batches of RGB images in [0, 1].

    ``net``: "alex" (9.9 MB, fast) or "vgg" (59 MB, about 4x slower on CPU).
    ``model_root``: optional folder holding ``<net>_shift_tolerant.pth`` instead of the package.
    """

    def __init__(self, net: str = "alex", model_root: Path | None = None) -> None:
        super().__init__()
        if net not in _ARCHS:
            raise ValueError(f"unknown ST-LPIPS net '{net}': use one of {', '.join(_ARCHS)}")
        make_layers, ends, channels = _ARCHS[net]
        self.net_name = net
        self.scaling_layer = _ScalingLayer()
        self.net = _Backbone(make_layers(), ends)
        for k, width in enumerate(channels):
            self.add_module(f"lin{k}", _Head(width))
        self._heads = [getattr(self, f"lin{k}") for k in range(len(channels))]
        path = locate(WEIGHTS[net], model_root)
        try:
            self.load_state_dict(_read_state(path), strict=True)
        except RuntimeError as exc:   # keys or shapes differ: a file for another net or variant
            raise ModelError(f"{path} is not the ST-LPIPS {net} state dict: pip install {INSTALL}") from exc
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> STLPIPS:
        # A loss network stays in eval mode even when a parent module calls .train().
        return super().train(False)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """``(B,)`` distances between ``x`` and ``y``, both ``(B, 3, H, W)`` in [0, 1]."""
        if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"STLPIPS needs two (B, 3, H, W) batches of one shape, got {tuple(x.shape)} "
                             f"and {tuple(y.shape)}")
        fx = self.net(self.scaling_layer(x * 2 - 1))
        fy = self.net(self.scaling_layer(y * 2 - 1))
        total = x.new_zeros(x.shape[0])
        for head, a, b in zip(self._heads, fx, fy):
            total = total + head((_unit(a) - _unit(b)).square())
        return total


def _read_state(path: Path) -> dict[str, Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # a truncated or foreign file from --model-root
        raise ModelError(f"{path} is not a readable ST-LPIPS state dict ({exc.__class__.__name__}): "
                         f"pip install {INSTALL}") from exc
    if not isinstance(state, dict):
        raise ModelError(f"{path} is not an ST-LPIPS state dict: pip install {INSTALL}")
    return state
