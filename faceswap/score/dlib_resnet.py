"""dlib's 128-d face recognition ResNet in pure torch, loaded from dlib's own ``.dat`` file.

dlib's CPU build (no BLAS) takes ~70-100 ms a face; the same network in torch takes ~2-7 ms
and gives the same descriptors (within ~1e-6). The file is read as plain data only.

dlib serialises a network recursively: each wrapper writes its version int and then its
whole subnetwork before its own details, so the file holds all version ints outermost
first, then the input layer, then layer details innermost first. Tags, skips and
add_prev store no tag ids, so the wiring comes from ``_topology()`` (dlib's ``anet_type``)
while every shape, stride and padding is read from the file and checked against it.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from faceswap.errors import ModelError

CHIP_SIZE = 150
_FLOAT_SPECIAL = {32000: math.inf, 32001: -math.inf, 32002: math.nan}


class _Malformed(Exception):
    """Raised inside the parser; turned into one ModelError line that names the file."""


def _expect(ok: bool, message: str) -> None:
    if not ok:
        raise _Malformed(message)


def _topology() -> list[str]:
    """Layer kinds of dlib's face ResNet, outermost first (tagN/skipN/addN carry the tag id)."""
    block = ["affine", "con", "relu", "affine", "con"]      # BN<con<relu<BN<con<...>>>>>, BN = affine
    ares = ["relu", "add1", *block, "tag1"]
    down = ["relu", "add2", "avg_pool", "skip1", "tag2", *block, "tag1"]
    levels = [*down,                                        # alevel0 (256)
              *ares, *ares, *down,                          # alevel1 (256)
              *ares, *ares, *down,                          # alevel2 (128)
              *ares, *ares, *ares, *down,                   # alevel3 (64)
              *ares, *ares, *ares]                          # alevel4 (32)
    return ["fc", "avg_pool", *levels, "max_pool", "relu", "affine", "con"]


class _Reader:
    """dlib's serialisation primitives over an in-memory file."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        _expect(0 <= n <= len(self.data) - self.pos, f"truncated at byte {self.pos}")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def integer(self, signed: bool = True) -> int:
        # a control byte (byte count in the low nibble, 0x80 = negative), then little-endian bytes
        head = self.take(1)[0]
        size = head & (0x0F if signed else 0x8F)
        _expect(0 < size <= 8, f"bad integer at byte {self.pos - 1}")
        value = int.from_bytes(self.take(size), "little")
        return -value if signed and head & 0x80 else value

    def version(self, *allowed: int) -> int:
        value = self.integer()
        _expect(value in allowed, f"unexpected version {value} at byte {self.pos}")
        return value

    def string(self) -> str:
        size = self.integer(signed=False)
        _expect(size <= 256, f"implausible string length {size} at byte {self.pos}")
        return bytes(self.take(size)).decode("ascii", "replace")

    def flag(self) -> bool:
        ch = bytes(self.take(1))                           # bools are the characters '0' / '1'
        _expect(ch in (b"0", b"1"), f"bad bool at byte {self.pos - 1}")
        return ch == b"1"

    def real(self) -> float:
        # float_details: mantissa * 2**exponent; dlib's much older text floats are not supported
        _expect(self.pos < len(self.data) and not self.data[self.pos] & 0x70, f"bad float at byte {self.pos}")
        mantissa, exponent = self.integer(), self.integer()
        return _FLOAT_SPECIAL.get(exponent, 0.0) if exponent >= 32000 else math.ldexp(mantissa, exponent)

    def reals(self, n: int) -> list[float]:
        return [self.real() for _ in range(n)]

    def shape(self) -> tuple[int, ...]:
        self.version(1)                                     # alias_tensor: a shape, no data
        return tuple(self.integer() for _ in range(4))

    def tensor(self) -> np.ndarray:
        self.version(2)
        shape = tuple(self.integer() for _ in range(4))
        _expect(min(shape) >= 0, f"negative tensor size at byte {self.pos}")
        return np.frombuffer(self.take(4 * math.prod(shape)), "<f4").astype(np.float32).reshape(shape)

    def tag(self, *allowed: str) -> str:
        version = self.string()
        _expect(version in allowed, f"expected {allowed[0]}, found {version!r} at byte {self.pos}")
        return version


def _con(r: _Reader) -> nn.Conv2d:
    version = r.tag("con_4", "con_5", "con_6")
    params = r.tensor().ravel()
    n_filters, nr, nc, stride_y, stride_x, pad_y, pad_x = (r.integer() for _ in range(7))
    filters, _biases = r.shape(), r.shape()
    r.reals(4)                                              # learning-rate and weight-decay multipliers
    use_bias = r.flag() if version != "con_4" else True
    _expect(not (version == "con_6" and r.flag()), "con layer with a fused relu")
    out, cin, fy, fx = filters
    n_weights = out * cin * fy * fx
    _expect((out, fy, fx) == (n_filters, nr, nc) and params.size == n_weights + use_bias * out,
            f"con layer of shape {filters} has {params.size} params")
    conv = nn.Conv2d(cin, out, (fy, fx), (stride_y, stride_x), (pad_y, pad_x))
    conv.weight.data = torch.from_numpy(params[:n_weights].reshape(filters))
    conv.bias.data = torch.from_numpy(params[n_weights:] if use_bias else np.zeros(out, np.float32))
    return conv


def _affine(r: _Reader) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(gamma, beta)``: batch norm frozen into ``gamma * x + beta`` at training's end."""
    version = r.tag("affine_", "affine_2")
    params, gamma, _beta = r.tensor().ravel(), r.shape(), r.shape()
    _expect(r.integer() == 0, "affine layer is not per-channel")   # layer_mode 0 = CONV_MODE
    _expect(not (version == "affine_2" and r.flag()), "disabled affine layer")
    n = math.prod(gamma)
    _expect(params.size == 2 * n, f"affine layer has {params.size} params for {n} channels")
    return params[:n], params[n:]


def _pool(r: _Reader, kind: str) -> nn.Module:
    r.tag(f"{kind}_2")
    nr, nc, stride_y, stride_x, pad_y, pad_x = (r.integer() for _ in range(6))
    if kind == "max_pool":
        return nn.MaxPool2d((nr, nc), (stride_y, stride_x), (pad_y, pad_x))
    if nr == 0 and nc == 0:                                 # avg_pool_everything: one window over all
        return nn.AdaptiveAvgPool2d(1)
    # dlib averages only the part of a window inside the image
    return nn.AvgPool2d((nr, nc), (stride_y, stride_x), (pad_y, pad_x), count_include_pad=False)


def _fc(r: _Reader) -> nn.Module:
    version = r.tag("fc_2", "fc_3")
    n_out, n_in = r.integer(signed=False), r.integer(signed=False)
    params, _weights, _biases = r.tensor().ravel(), r.shape(), r.shape()
    has_bias = r.integer() == 0                             # fc_bias_mode: 0 = bias, 1 = no bias
    r.reals(4)
    has_bias = (r.flag() if version == "fc_3" else True) and has_bias
    _expect(params.size == (n_in + has_bias) * n_out, f"fc layer has {params.size} params for {n_in}x{n_out}")
    linear = nn.Linear(n_in, n_out, bias=has_bias)
    # dlib keeps the weights as (inputs, outputs) and computes x @ W
    linear.weight.data = torch.from_numpy(params[:n_in * n_out].reshape(n_in, n_out).T.copy())
    if has_bias:
        linear.bias.data = torch.from_numpy(params[n_in * n_out:])
    return nn.Sequential(nn.Flatten(), linear)


def _details(r: _Reader, kind: str) -> object:
    if kind == "relu":
        return nn.Identity() if r.tag("relu_", "relu_2") == "relu_2" and r.flag() else nn.ReLU()
    if kind.startswith("add"):
        r.tag("add_prev_")                                  # its tag id lives in the C++ type only
        return nn.Identity()
    return _pool(r, kind) if kind.endswith("pool") else {"con": _con, "affine": _affine, "fc": _fc}[kind](r)


def _parse(data: bytes) -> tuple[list[float], list[tuple[str, object]]]:
    """(input channel means, ``[(kind, module or (gamma, beta) or None)]`` innermost first)."""
    r = _Reader(data)
    r.version(1)                                            # add_loss_layer
    if r.tag("loss_metric_2", "loss_metric_") == "loss_metric_2":
        r.reals(2)                                          # margin and distance threshold
    kinds = _topology()
    versions = [r.version(1) if k[:3] in ("tag", "ski") else r.version(1, 2) for k in kinds[:-1]]
    versions.append(r.version(2, 3))                        # the add_layer right on the input layer
    r.tag("input_rgb_image_sized")
    means = r.reals(3)
    size = (r.integer(signed=False), r.integer(signed=False))
    _expect(size == (CHIP_SIZE, CHIP_SIZE), f"input size is {size}, not {CHIP_SIZE}")
    layers: list[tuple[str, object]] = []
    for index in range(len(kinds) - 1, -1, -1):
        kind, version = kinds[index], versions[index]
        if kind[:3] in ("tag", "ski"):                      # tag and skip layers store only their subnet
            layers.append((kind, None))
            continue
        layers.append((kind, _details(r, kind)))
        for _ in range(3):
            r.flag()                                        # setup / stale-gradient / disabled flags
        r.tensor(), r.tensor()                              # x_grad and cached_output (training state)
        if index == len(kinds) - 1:
            r.tensor()                                      # grad_final
            if version == 3:
                r.integer()                                 # sample_expansion_factor
        elif version == 2:
            r.tensor()                                      # params_grad
    _expect(r.pos == len(r.data), f"{len(r.data) - r.pos} trailing bytes")
    return means, layers


def _padded_add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's add_prev: the output takes the larger size per axis and zero-pads the smaller input.

    It matters in the last two down blocks: alevel1 adds a 256 x 3 x 3 residual to a 128 x 4 x 4
    shortcut (-> 256 x 4 x 4) and alevel0 a 256 x 1 x 1 residual to a 256 x 2 x 2 shortcut.
    """
    if a.shape == b.shape:
        return a + b
    _, c, h, w = (max(x, y) for x, y in zip(a.shape, b.shape))
    return sum(F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1])) for t in (a, b))


class DlibFaceResNet(nn.Module):
    """dlib_face_recognition_resnet_model_v1: ``(N, 3, 150, 150)`` RGB in [0, 255] -> ``(N, 128)``."""

    def __init__(self, means: list[float], layers: list[tuple[str, object]]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(means, dtype=torch.float32).view(1, 3, 1, 1))
        self.wiring: list[tuple[str, int]] = []
        modules: list[nn.Module] = []
        for kind, layer in layers:
            if kind == "affine":            # every affine sits right on a con: fold it into the weights
                gamma, beta = (torch.from_numpy(np.ascontiguousarray(v)) for v in layer)
                conv = modules[-1]
                _expect(isinstance(conv, nn.Conv2d) and len(gamma) == conv.out_channels, "affine/con mismatch")
                conv.weight.data *= gamma.view(-1, 1, 1, 1)
                conv.bias.data = conv.bias.data * gamma + beta
                continue
            tag = int(kind[-1]) if kind[-1].isdigit() else 0
            self.wiring.append((kind.rstrip("0123456789"), tag))
            modules.append(layer if isinstance(layer, nn.Module) else nn.Identity())
        self.layers = nn.ModuleList(modules)
        self.eval().requires_grad_(False)

    @classmethod
    def from_file(cls, path: str | Path) -> DlibFaceResNet:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read dlib model {path}: {exc.strerror}") from None
        try:
            net = cls(*_parse(data))
            with torch.no_grad():           # a dry run proves the layers fit together
                out = net(torch.zeros(1, 3, CHIP_SIZE, CHIP_SIZE))
        except (_Malformed, RuntimeError, ValueError, OverflowError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelError(f"{path} is not a valid dlib face recognition model: {reason}") from None
        if out.shape != (1, 128):
            raise ModelError(f"{path} is not a valid dlib face recognition model: it outputs {tuple(out.shape)}")
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / 256.0         # dlib's input_rgb_image scaling
        tags: dict[int, torch.Tensor] = {}
        for (kind, tag), layer in zip(self.wiring, self.layers):
            if kind == "tag":
                tags[tag] = x
            elif kind == "skip":
                x = tags[tag]
            elif kind == "add":
                x = _padded_add(x, tags[tag])
            else:
                x = layer(x)
        return x

    @torch.no_grad()
    def embed_chips(self, chips: np.ndarray, batch: int = 16) -> np.ndarray:
        """dlib's raw descriptors ``(N, 128)`` float64 of 150 px RGB uint8 chips ``(N, 150, 150, 3)``."""
        chips = np.asarray(chips, np.uint8).reshape(-1, CHIP_SIZE, CHIP_SIZE, 3)
        out = np.zeros((len(chips), 128))
        for start in range(0, len(chips), batch):
            x = torch.from_numpy(np.ascontiguousarray(chips[start:start + batch])).permute(0, 3, 1, 2).float()
            # channels-last: same result, ~25% faster on CPU from batch 8 up, no slower below
            out[start:start + batch] = self(x.contiguous(memory_format=torch.channels_last)).numpy()
        return out
