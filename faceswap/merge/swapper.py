"""A trained model, loaded for swapping: crops in, swapped faces and masks out, in batches.

The swap runs in torch, or in onnxruntime from the model's exported ``swap.onnx``
(``--engine onnx``); ``auto`` times both on the first batch and keeps the faster.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from faceswap.errors import ModelError
from faceswap.merge.onnx_swap import ONNX_NAME, OnnxSwap, current_weights_sha256
from faceswap.model_api import SOURCE_DECODER
from faceswap.registry import Registry
from faceswap.runtime.device import Device
from faceswap.trained import load_trained_model

log = logging.getLogger(__name__)

ENGINES = ("auto", "torch", "onnx")
Engine = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class FaceSwapper:
    """Encode destination faces and decode them as the source person."""

    def __init__(self, folder: Path, registry: Registry, device: Device, engine: str = "torch") -> None:
        self.model, info = load_trained_model(folder, registry, device)
        if not self.model.can_swap:
            raise ModelError(f"model '{folder.name}' is a '{info['plugin']}' model with one decoder: "
                             f"it cannot swap faces (train an sae model)")
        self.device = torch.device(device.torch_device)
        self.resolution = self.model.resolution
        self.coverage = self.model.coverage
        self.info = info
        self._candidates: dict[str, Engine] = {"torch": self._torch}
        if engine != "torch" and (engine == "onnx" or (folder / ONNX_NAME).is_file()):
            try:
                self._candidates["onnx"] = OnnxSwap(folder, current_weights_sha256(folder), device)
            except ModelError:
                if engine == "onnx":
                    raise
                log.info("%s is out of date: swapping in torch", folder / ONNX_NAME)
        if engine == "onnx":
            del self._candidates["torch"]
        self.engine = next(iter(self._candidates)) if len(self._candidates) == 1 else ""

    def swap(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """crops: (N, R, R, 3) uint8 -> rgb (N, R, R, 3) float32 [0, 1], mask (N, R, R) float32."""
        faces = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), np.float32) / 255.0
        if not self.engine:
            self.engine = self._fastest(faces)
        rgb, mask = self._candidates[self.engine](faces)
        return rgb.transpose(0, 2, 3, 1), mask[:, 0]

    def _fastest(self, faces: np.ndarray) -> str:
        timings = {}
        for name, run in self._candidates.items():
            run(faces)                              # warm up
            started = time.perf_counter()
            run(faces)
            timings[name] = time.perf_counter() - started
        best = min(timings, key=timings.get)
        log.info("swap engine: %s (%s)", best, ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items()))
        return best

    @torch.no_grad()
    def _torch(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(faces).to(self.device)
        rgb, mask = self.model.decode(self.model.encode(x).code, SOURCE_DECODER)
        return rgb.float().cpu().numpy(), mask.float().cpu().numpy()
