"""The segmentation network of the ``segment`` masker: a small U-Net from a face crop to face-visible logits.

Its input is the RGB crop plus a fourth channel, the face region the landmarks give (the
``extended`` hull, segment/truth.py): the landmarks say where the face is, the net decides which
of it is visible and where the real outline runs (the approach of FaceFusion's occluder, which
is intersected with a landmark region, learnt in one net). The prior is also added to the
output logits through a learnt gain, so an untrained net already answers "the landmark region"
and training only has to learn where the picture says otherwise: it learns in an hour on a
CPU what it would take many hours to learn from pixels alone.

The crop (R = 128 px) is averaged down by ``pool`` (2) before the first convolution; the encoder's
four stride-2 stages then reach R/32, so the bottleneck sees the whole head; each decoder stage
upsamples, adds the encoder's features of that scale (LinkNet-style: a sum, not a concatenation,
which halves the decoder's cost) and refines them with one 3x3 convolution. The head's logits are
upsampled to R and added to the full-resolution prior (above), whose edge stays sharp. Every
convolution is followed by batch normalisation: without it this net learnt occluders much more
slowly in a short CPU comparison; fine-tuning on a user's faces also adapts its statistics to
their footage.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class NetConfig:
    """Architecture; stored with every weight file and checkpoint."""

    resolution: int = 128                   # side of the crop the net sees
    widths: tuple[int, ...] = (16, 32, 64, 96, 128)   # at resolution / pool, then each halving
    prior: bool = True                      # a fourth input channel: the landmarks' face region
    pool: int = 2                           # the convolutions run at resolution / pool

    def as_dict(self) -> dict:
        return {"resolution": self.resolution, "widths": list(self.widths), "prior": self.prior, "pool": self.pool}

    @classmethod
    def from_dict(cls, data: dict) -> NetConfig:
        return cls(int(data["resolution"]), tuple(int(w) for w in data["widths"]), bool(data["prior"]),
                   int(data["pool"]))


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class SegmentNet(nn.Module):
    """(N, 3 or 4, R, R) float32 in [0, 1] (RGB, then the prior when the config has one)
    -> (N, 1, R, R) logits of "visible face"."""

    def __init__(self, config: NetConfig = NetConfig()) -> None:
        super().__init__()
        self.config = config
        w = config.widths
        self.stem = _conv(4 if config.prior else 3, w[0])
        self.down = nn.ModuleList(nn.Sequential(_conv(a, b, 2), _conv(b, b)) for a, b in zip(w, w[1:]))
        # 1x1 projections run before upsampling (they commute with it, and cost 4x less there)
        self.project = nn.ModuleList(nn.Conv2d(b, a, 1) for a, b in zip(w[1:-1], w[2:]))
        self.refine = nn.ModuleList(_conv(a, a) for a in w[1:-1])
        self.head_project = nn.Conv2d(w[1], w[0], 1)
        self.head = nn.Conv2d(w[0], 1, 3, padding=1)
        self.prior_gain = nn.Parameter(torch.tensor(8.0 if config.prior else 0.0))
        centre = [0.5, 0.45, 0.4] + ([0.5] if config.prior else [])
        self.register_buffer("mean", torch.tensor(centre).view(1, -1, 1, 1), persistent=False)
        self._init_weights()

    def _init_weights(self) -> None:
        """He initialisation; the head starts at zero, so an untrained net answers exactly the prior."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.zeros_(self.head.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        small = F.avg_pool2d(x, self.config.pool) if self.config.pool > 1 else x
        features = [self.stem(small - self.mean)]
        for stage in self.down:
            features.append(stage(features[-1]))
        y = features[-1]
        for level in range(len(self.refine) - 1, -1, -1):
            skip = features[level + 1]
            y = self.refine[level](_up(self.project[level](y), skip) + skip)
        y = _up(self.head_project(y), features[0]) + features[0]
        logits = self.head(F.relu(y))
        if self.config.pool > 1:
            logits = _up(logits, x)
        if self.config.prior:
            logits = logits + self.prior_gain * (x[:, 3:4] - 0.5)
        return logits


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)
