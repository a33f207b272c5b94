"""Mask-model files: the shipped weight file (safetensors + JSON) and ``mask train`` checkpoints.

A weight file is ``NAME.safetensors`` (fp16 tensors) beside ``NAME.json`` (architecture, what
the net was trained on, and the sha256 of the tensors). A trained mask model is a checkpoint
folder like a swap model's (faceswap/train/checkpoint.py), whose model.json says
``"kind": "masker"``. Both are verified before use; anything wrong is a one-line ModelError.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from faceswap.atomic import write_atomic, write_json_atomic
from faceswap.errors import ModelError
from faceswap.hashing import file_sha256
from faceswap.segment.net import NetConfig, SegmentNet, embed_narrower, grow_stem
from faceswap.train.checkpoint import Checkpoint, has_checkpoint, load_checkpoint, load_weights, read_model_info

KIND = "masker"
FORMAT = 1
COUNTER = "num_batches_tracked"


def build_net(config: NetConfig, tensors: Mapping[str, torch.Tensor], where: Path, grow: bool = False) -> SegmentNet:
    """A net of ``config`` holding ``tensors`` (any float dtype), in eval mode. Batch-norm step
    counters that a weight file leaves out keep the fresh net's (they do not change its output).
    ``grow``: ``tensors`` come from a net without some of ``config``'s stages (net.py's ``fine``),
    which keep their fresh initial weights, from an averaging stem (``unshuffle``), which is spread,
    or from a narrower net (``widths``, ``fine``), whose channels come first (net.embed_narrower)."""
    net = SegmentNet(config)
    if grow and "stem.0.weight" in tensors:
        tensors = {**tensors, "stem.0.weight": grow_stem(tensors["stem.0.weight"], config)}
    if grow:        # after it, every tensor of the net is in ``tensors`` (the added ones fresh)
        try:
            tensors = embed_narrower(tensors, net.state_dict())
        except ValueError as exc:
            raise ModelError(f"{where}: its weights do not fit the grown net ({exc})") from None
    counters = {k: v for k, v in net.state_dict().items() if k.endswith(COUNTER)}
    load_weights(net, {**counters, **{k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}}, where)
    return net.eval()


def read_mask_model(folder: Path) -> tuple[NetConfig, Checkpoint]:
    """(architecture, verified checkpoint) of a ``mask train`` model folder."""
    folder = Path(folder)
    if has_checkpoint(folder) and read_model_info(folder).get("kind") != KIND:
        raise ModelError(f"{folder} is a '{read_model_info(folder)['plugin']}' swap model, not a mask model: "
                         f"name a folder 'faceswap mask train' wrote")
    checkpoint = load_checkpoint(folder)
    return _config(checkpoint.model_info, folder / "model.json"), checkpoint


def write_weight_file(tensors_path: Path, net: SegmentNet, info: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``net`` as fp16 safetensors plus its JSON (returned); both atomically. Integer batch-norm
    step counters are left out: fp16 would overflow them, and inference does not use them."""
    tensors = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in net.state_dict().items()
               if not k.endswith(COUNTER)}
    data = save(tensors)
    write_atomic(tensors_path, data)
    meta = {"format": FORMAT, "kind": KIND, "net": net.config.as_dict(),
            "sha256": hashlib.sha256(data).hexdigest(), **info}
    write_json_atomic(tensors_path.with_suffix(".json"), meta)
    return meta


def read_weight_file(tensors_path: Path) -> tuple[NetConfig, dict[str, torch.Tensor], dict[str, Any]]:
    """(architecture, tensors, JSON) of a weight file, checked against the sha256 its JSON records."""
    json_path = tensors_path.with_suffix(".json")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        recorded = meta["sha256"]
    except FileNotFoundError:
        raise ModelError(f"{json_path} is missing: reinstall faceswap") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{json_path} is unreadable ({type(exc).__name__}): reinstall faceswap") from exc
    if not tensors_path.is_file() or file_sha256(tensors_path) != recorded:
        raise ModelError(f"{tensors_path} is missing or does not match the sha256 in {json_path.name}: "
                         f"reinstall faceswap")
    try:
        tensors = load(tensors_path.read_bytes())
    except SafetensorError as exc:
        raise ModelError(f"{tensors_path} is not a valid safetensors file ({exc}): reinstall faceswap") from exc
    return _config(meta, json_path), tensors, meta


def _config(info: Mapping[str, Any], where: Path) -> NetConfig:
    try:
        return NetConfig.from_dict(info["net"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{where} does not describe a segmentation net ({type(exc).__name__}: {exc})") from exc
