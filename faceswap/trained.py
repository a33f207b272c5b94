"""Load a trained model for inference: verified checkpoint -> plugin instance in eval mode."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from faceswap.errors import ModelError
from faceswap.registry import Registry
from faceswap.runtime.device import Device
from faceswap.train.checkpoint import load_checkpoint, load_weights


def load_trained_model(folder: Path, registry: Registry, device: Device) -> tuple[Any, dict[str, Any]]:
    """(model on ``device`` in eval mode, model.json contents) of the model in ``folder``."""
    checkpoint = load_checkpoint(folder)
    info = checkpoint.model_info
    if info.get("kind") == "masker":
        raise ModelError(f"{folder} is a mask model ('faceswap mask train' made it), not a face model: name a model "
                         f"'faceswap train' made (use a mask model with 'faceswap mask apply --model')")
    model = registry.create("model", info["plugin"], info["options"], device)
    load_weights(model, checkpoint.weights, folder, info.get("plugin_version"))
    model.to(torch.device(device.torch_device)).eval()
    return model, info
