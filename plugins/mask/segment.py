"""Occlusion-aware face mask: a small U-Net (faceswap/segment/net.py) that marks the visible face.

Skin, eyes and mouth are 1; background, hair, and whatever is in front of the face (a hand, a
microphone, glasses frames) are 0. The generic model ships in ``weights/`` (fp16 safetensors +
JSON, ~1.25 MB, trained by scripts/train_segment.py on faces with synthetic occluders); a model
fine-tuned on your own labels with ``faceswap mask train`` is chosen with ``-O masker.model=DIR``
(``faceswap mask apply --model NAME`` does that for you).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from faceswap.plugin_api import API_VERSION, Masker, option
from faceswap.segment.models import build_net, read_mask_model, read_weight_file
from faceswap.segment.net import fused_for_inference
from faceswap.segment.predict import predict_masks
from faceswap.weights import WeightFile, locate

GENERIC = WeightFile(
    filename="segment_generic.safetensors",
    sha256="fefef3f97bcef60e3ac08f0ad805bbdc7c945b27d694ea41161316bf5c26edd2",
    package="faceswap_plugins", subdir="mask/weights", pip_name="faceswap",
)
GENERIC_JSON = WeightFile(
    filename="segment_generic.json",
    sha256="730db6891482648f8937499ef77637e821ba87e68c3fd0bf8fe9dab6fd3274fd",
    package="faceswap_plugins", subdir="mask/weights", pip_name="faceswap",
)


class SegmentMasker(Masker):
    name = "segment"
    version = "1.2"
    api_version = API_VERSION
    weights = (GENERIC, GENERIC_JSON)

    @dataclass(frozen=True)
    class Options:
        model: str = option("", "folder of a mask model trained with 'faceswap mask train' "
                                "(default: the generic model shipped with faceswap)")
        batch: int = option(32, "faces per network batch", min=1, max=1024)
        flip: bool = option(False, "also run each face mirrored and average the two (about +0.005 IoU, "
                                   "half the speed)")

    def __init__(self, options: Options, device) -> None:
        super().__init__(options, device)
        if options.model:
            folder = Path(options.model).expanduser()
            config, checkpoint = read_mask_model(folder)
            self.net = build_net(config, checkpoint.weights, folder)
        else:
            locate(GENERIC_JSON)
            tensors_path = locate(GENERIC)
            config, tensors, _ = read_weight_file(tensors_path)
            self.net = build_net(config, tensors, tensors_path)
        self.net.to(device.torch_device)        # as trained: 'mask train --init generic' starts from it
        self.runner = fused_for_inference(self.net)
        if not device.is_cuda:
            self.runner = self.runner.to(memory_format=torch.channels_last)

    def mask(self, faces: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return predict_masks(self.runner, faces, landmarks, self.options.batch, self.options.flip)
