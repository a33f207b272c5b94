"""Load a trained model for inference: verified checkpoint -> plugin instance in eval mode."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from faceswap.registry import Registry
from faceswap.runtime.device import Device
from faceswap.train.checkpoint import load_checkpoint, load_weights


def load_trained_model(folder: Path, registry: Registry, device: Device) -> tuple[Any, dict[str, Any]]:
    """(model on ``device`` in eval mode, model.json contents) of the model in ``folder``."""
    checkpoint = load_checkpoint(folder)
    info = checkpoint.model_info
    model = registry.create("model", info["plugin"], info["options"], device)
    load_weights(model, checkpoint.weights, folder)
    model.to(torch.device(device.torch_device)).eval()
    return model, info
