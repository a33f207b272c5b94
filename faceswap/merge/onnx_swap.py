"""The swap path of a trained model (encode, then decode as the source person) as ONNX.

``faceswap export --onnx`` writes ``models/<name>/swap.onnx`` and a JSON record of the weights
it was made from; merge can then run onnxruntime instead of torch when that is faster, and
the file runs anywhere onnxruntime does (real-time tools, other languages).
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch

from faceswap.atomic import write_atomic, write_json_atomic
from faceswap.errors import ModelError
from faceswap.model_api import SOURCE_DECODER
from faceswap.runtime.device import Device, ort_session

ONNX_NAME = "swap.onnx"
RECORD_NAME = "swap.onnx.json"
OPSET = 17


class _SwapPath(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.decode(self.model.encode(faces).code, SOURCE_DECODER)


def export_swap(model: torch.nn.Module, folder: Path, weights_sha256: str) -> tuple[Path, float]:
    """Write ``folder/swap.onnx`` (batch size free) and its record; returns (path, largest
    difference from torch on a test batch)."""
    model = model.to("cpu").eval()
    res = model.resolution
    sample = torch.rand(4, 3, res, res, generator=torch.Generator().manual_seed(0))
    buffer = io.BytesIO()
    axes = {"faces": {0: "n"}, "rgb": {0: "n"}, "mask": {0: "n"}}
    with torch.no_grad():
        torch.onnx.export(_SwapPath(model), (sample,), buffer, input_names=["faces"], output_names=["rgb", "mask"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        expected = _SwapPath(model)(sample)
    data = buffer.getvalue()
    session = ort_session(data, Device("cpu"))
    got = session.run(None, {"faces": sample.numpy()})
    difference = max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected))
    if difference > 1e-3:
        raise ModelError(f"the ONNX export of {folder.name} differs from the model by {difference:.2g}: "
                         f"keep merging with --engine torch")
    write_atomic(folder / ONNX_NAME, data)
    write_json_atomic(folder / RECORD_NAME, {"weights_sha256": weights_sha256, "resolution": res,
                                             "coverage": model.coverage, "opset": OPSET})
    return folder / ONNX_NAME, difference


class OnnxSwap:
    """``swap.onnx`` in onnxruntime: (N, 3, R, R) float32 in [0, 1] -> (rgb, mask) arrays."""

    def __init__(self, folder: Path, weights_sha256: str, device: Device) -> None:
        path, record = folder / ONNX_NAME, folder / RECORD_NAME
        if not path.is_file():
            raise ModelError(f"no {ONNX_NAME} in {folder}: run 'faceswap export {folder.name} --onnx' first")
        try:
            made_from = json.loads(record.read_text(encoding="utf-8"))["weights_sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            made_from = None
        if made_from != weights_sha256:
            raise ModelError(f"{path} was exported from other weights than the model's current ones: "
                             f"run 'faceswap export {folder.name} --onnx' again")
        self.session = ort_session(str(path), device)

    def __call__(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rgb, mask = self.session.run(None, {"faces": np.ascontiguousarray(faces, np.float32)})
        return rgb, mask


def current_weights_sha256(folder: Path) -> str:
    """The sha256 of the weights a model folder's checkpoint vouches for."""
    try:
        return json.loads((folder / "trainer.json").read_text(encoding="utf-8"))["sha256"]["weights.safetensors"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{folder} holds no complete checkpoint ({exc})") from exc
