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

Three later options, each off in a file that does not name it, so older weight files load
unchanged; a net can be grown with them from one without (session.py): ``unshuffle`` gives the
first convolution every pixel of each 2x2 block instead of their mean (it starts as the mean);
``fine`` adds a small stage at full resolution (for strands and frame edges the half-resolution
grid blurs; its head starts at zero); ``limit`` caps the logits at the prior's, so nothing
outside the landmark region is called face (predict.py applies it again at the face's own
resolution).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
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
    fine: int = 0                           # channels of a full-resolution stage before the head (0: none)
    limit: bool = False                     # never "face" outside the prior's region (needs the prior)
    unshuffle: bool = False                 # the stem sees every pixel (space-to-depth), not their average

    def as_dict(self) -> dict:
        return {"resolution": self.resolution, "widths": list(self.widths), "prior": self.prior, "pool": self.pool,
                "fine": self.fine, "limit": self.limit, "unshuffle": self.unshuffle}

    @classmethod
    def from_dict(cls, data: dict) -> NetConfig:
        # fine, limit and unshuffle came later: files without them describe nets without them
        return cls(int(data["resolution"]), tuple(int(w) for w in data["widths"]), bool(data["prior"]),
                   int(data["pool"]), int(data.get("fine", 0)), bool(data.get("limit", False)),
                   bool(data.get("unshuffle", False)))

    @property
    def channels(self) -> int:
        return 4 if self.prior else 3

    @property
    def stem_channels(self) -> int:
        return self.channels * (self.pool ** 2 if self.unshuffle and self.pool > 1 else 1)


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
        self.stem = _conv(config.stem_channels, w[0])
        self.down = nn.ModuleList(nn.Sequential(_conv(a, b, 2), _conv(b, b)) for a, b in zip(w, w[1:]))
        # 1x1 projections run before upsampling (they commute with it, and cost 4x less there)
        self.project = nn.ModuleList(nn.Conv2d(b, a, 1) for a, b in zip(w[1:-1], w[2:]))
        self.refine = nn.ModuleList(_conv(a, a) for a in w[1:-1])
        self.head_project = nn.Conv2d(w[1], w[0], 1)
        self.head = nn.Conv2d(w[0], 1, 3, padding=1)
        if config.fine:
            # the full-resolution stage: the crop's own pixels plus the decoder's features, for what
            # half resolution blurs away (hair strands, frame edges); its head starts at zero, so a
            # net grown from one without it answers as before and only learns the detail
            self.fine_stem = _conv(config.channels, config.fine)
            self.fine_project = nn.Conv2d(w[0], config.fine, 1)
            self.fine_refine = _conv(config.fine, config.fine)
            self.fine_head = nn.Conv2d(config.fine, 1, 3, padding=1)
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
        if self.config.fine:
            nn.init.zeros_(self.fine_head.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - self.mean
        if self.config.pool > 1:
            centred = (F.pixel_unshuffle(centred, self.config.pool) if self.config.unshuffle
                       else F.avg_pool2d(centred, self.config.pool))
        features = [self.stem(centred)]
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
        if self.config.fine:
            detail = self.fine_stem(x - self.mean) + _up(self.fine_project(y), x)
            logits = logits + self.fine_head(self.fine_refine(detail))
        if self.config.prior:
            prior = x[:, 3:4]
            logits = logits + self.prior_gain * (prior - 0.5)
            if self.config.limit:
                # the logit of the prior's anti-aliased coverage: its edge stays the limit's edge
                logits = torch.minimum(logits, torch.logit(prior.clamp(1e-3, 1 - 1e-3)))
        return logits


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


def grow_stem(weight: torch.Tensor, config: NetConfig) -> torch.Tensor:
    """The stem weight of an averaging net, for the same net with ``unshuffle``: each pixel of a
    pool x pool block gets 1/pool^2 of it, so the grown net starts with the same output."""
    if weight.shape[1] == config.stem_channels or not config.unshuffle:
        return weight
    blocks = config.pool ** 2
    return weight.repeat_interleave(blocks, dim=1) / blocks


def embed_narrower(tensors: Mapping[str, torch.Tensor], fresh: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of a narrower net placed in a wider one's (``fresh``: its initial state), so that
    the wider net computes what the narrower did: each tensor fills the leading part of its
    place; the added input channels of every kept output weigh zero, so the added channels change
    nothing until training gives them a say; the added outputs keep their fresh values."""
    out = {}
    for key, new in fresh.items():
        old = tensors.get(key)
        if old is None or old.shape == new.shape:
            out[key] = new if old is None else old
            continue
        if old.dim() != new.dim() or any(a > b for a, b in zip(old.shape, new.shape)):
            raise ValueError(f"{key}: {tuple(old.shape)} does not fit in {tuple(new.shape)}")
        wider = new.clone().to(old.dtype)
        if old.dim() == 4:
            wider[:old.shape[0]] = 0
        wider[tuple(slice(0, n) for n in old.shape)] = old
        out[key] = wider
    return out


def fused_for_inference(net: SegmentNet) -> SegmentNet:
    """A copy of ``net`` (in eval mode) whose batch norms are folded into their convolutions:
    the same output, fewer passes over the feature maps (the full-resolution stage's dominate)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = copy.deepcopy(net).eval()
    for module in fused.modules():
        if isinstance(module, nn.Sequential) and len(module) == 3 and isinstance(module[1], nn.BatchNorm2d):
            module[0] = fuse_conv_bn_eval(module[0], module[1])
            module[1] = nn.Identity()
    return fused
