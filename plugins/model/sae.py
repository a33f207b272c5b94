"""SAE: DeepFaceLab-style autoencoder, a shared encoder with one decoder per person.

``df``: shared encoder + inter block, one decoder (face + mask) per person.
``liae``: shared encoder and decoder; decoder 0 (source) codes through inter_ab twice,
decoder 1 (destination) through inter_b and inter_ab, so swapping a destination face
decodes ``inter_ab`` codes only, as in DFL's LIAE.
Upsampling is conv + pixel shuffle (no checkerboard artefacts of transposed convs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from faceswap.model_api import Encoded, FaceModel, ModelOptions
from faceswap.plugin_api import API_VERSION, option
from faceswap.weights import WeightFile


def _act() -> nn.Module:
    return nn.LeakyReLU(0.1, inplace=True)


class Downscale(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 5, stride=2, padding=2), _act())


class Upscale(nn.Sequential):
    """Double the resolution: conv to 4x channels, then pixel shuffle."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout * 4, 3, padding=1), _act(), nn.PixelShuffle(2))


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
        if isinstance(module, Upscale):
            conv = module[0]
            out, cin, kh, kw = conv.weight.shape
            sub = torch.empty(out // 4, cin, kh, kw)
            nn.init.xavier_uniform_(sub)
            with torch.no_grad():
                conv.weight.copy_(sub.repeat_interleave(4, dim=0))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


class Encoder(nn.Sequential):
    """(B, 3, R, R) -> (B, 8 e_dims, R/16, R/16)."""

    def __init__(self, e_dims: int) -> None:
        dims = [3, e_dims, e_dims * 2, e_dims * 4, e_dims * 8]
        super().__init__(*(Downscale(a, b) for a, b in zip(dims, dims[1:])))


class Inter(nn.Module):
    """Bottleneck: flatten -> ae_dims -> a (ae_out, R/16, R/16) map, upscaled to R/8."""

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
    """(B, C, R/8, R/8) -> rgb (B, 3, R, R) and mask (B, 1, R, R), both in [0, 1]."""

    def __init__(self, cin: int, d_dims: int, d_mask_dims: int) -> None:
        super().__init__()
        d, m = d_dims, d_mask_dims
        self.face = nn.Sequential(
            Upscale(cin, d * 8), ResidualBlock(d * 8),
            Upscale(d * 8, d * 4), ResidualBlock(d * 4),
            Upscale(d * 4, d * 2), ResidualBlock(d * 2),
            nn.Conv2d(d * 2, 3, 1),
        )
        self.mask = nn.Sequential(
            Upscale(cin, m * 8), Upscale(m * 8, m * 4), Upscale(m * 4, m * 2), nn.Conv2d(m * 2, 1, 1),
        )

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.sigmoid(self.face(z)), torch.sigmoid(self.mask(z))


class SaeModel(FaceModel):
    name = "sae"
    version = "1.0"
    api_version = API_VERSION

    decoder_count = 2   # 0 = source (the face to put in), 1 = destination (the face to replace)

    @dataclass(frozen=True)
    class Options(ModelOptions):
        resolution: int = option(64, "side of the faces the model sees and makes (multiple of 16)",
                                 min=64, max=512, locked=True, multiple_of=16)
        archi: str = option("df", "df: shared encoder, one decoder per identity; liae: shared encoder "
                                  "and decoder with per-identity inter blocks", choices=("df", "liae"), locked=True)
        ae_dims: int = option(128, "size of the bottleneck code", min=16, max=1024, locked=True)
        e_dims: int = option(32, "encoder width (channels of the first layer)", min=8, max=256, locked=True)
        d_dims: int = option(16, "decoder width", min=4, max=256, locked=True)
        d_mask_dims: int = option(8, "mask decoder width", min=4, max=256, locked=True)
        init: str = option("xavier", "weights of a new model not started from a prior: xavier (Xavier-uniform, "
                                     "zero biases, ICNR before pixel shuffles) or torch (PyTorch's defaults)",
                           choices=("xavier", "torch"))

    PRESETS: ClassVar[dict[str, dict[str, object]]] = {
        # measured on 2 CPU cores: ~25 samples/s (d_dims 32 would cost 3x for the same resolution)
        "quick": {"resolution": 64, "ae_dims": 128, "e_dims": 32, "d_dims": 16, "d_mask_dims": 8},
        "full": {"resolution": 256, "ae_dims": 256, "e_dims": 64, "d_dims": 64, "d_mask_dims": 22},
    }
    # Loss options a new model of a preset starts with (-O loss.* overrides): the design's pixel + perceptual
    # on the GPU preset; quick stays pixel + DSSIM (ST-LPIPS cost it 41% of its samples/s on a CPU,
    # benchmarks/results/train_fit.json, for no gain shown at equal wall-clock).
    PRESET_LOSSES: ClassVar[dict[str, dict[str, object]]] = {"full": {"lpips_weight": 0.5, "lpips_net": "vgg"}}
    # New quick models start from this face prior (--init auto): 1600 pretraining iterations on 30 face sets
    # of ../shared/media, never on the evaluation pair (its metadata lists them; scripts/train_prior.py).
    PRIORS: ClassVar[dict[str, WeightFile]] = {
        "quick": WeightFile(filename="sae_quick.safetensors",
                            sha256="b5c29a0fba99ca5fa55908c9db6101f63d9ee0e54aeea4e8b80ba617a7574ce9",
                            package="faceswap_plugins", subdir="model/priors", pip_name="faceswap"),
    }

    def __init__(self, options: Options, device=None) -> None:
        super().__init__(options, device)
        o = options
        low = o.resolution // 16
        self.encoder = Encoder(o.e_dims)
        features = o.e_dims * 8 * low * low
        if o.archi == "df":
            self.inter = Inter(features, o.ae_dims, o.ae_dims, low)
            self.decoders = nn.ModuleList(Decoder(o.ae_dims, o.d_dims, o.d_mask_dims) for _ in range(self.decoder_count))
        else:
            self.inter_ab = Inter(features, o.ae_dims, o.ae_dims, low)
            self.inter_b = Inter(features, o.ae_dims, o.ae_dims, low)
            self.decoder = Decoder(o.ae_dims * 2, o.d_dims, o.d_mask_dims)
        if o.init == "xavier":
            initialise(self)

    def encode(self, x: torch.Tensor) -> Encoded:
        features = self.encoder(x)
        return Encoded(self.inter(features) if self.options.archi == "df" else features)

    def decode(self, code: torch.Tensor, decoder: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.options.archi == "df":
            return self.decoders[decoder](code)
        ab = self.inter_ab(code)
        other = ab if decoder == 0 else self.inter_b(code)
        return self.decoder(torch.cat([other, ab], dim=1))
