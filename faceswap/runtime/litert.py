"""Run a .tflite model with LiteRT (ai-edge-litert), TensorFlow not needed."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from faceswap.errors import PluginError


class TfliteModel:
    """One interpreter with a single input; outputs are picked by their element count."""

    def __init__(self, path: Path, threads: int = 0) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise PluginError("ai-edge-litert is not installed: pip install ai-edge-litert") from exc
        self._interpreter = Interpreter(model_path=str(path), num_threads=threads or None)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self.input_shape = tuple(self._input["shape"])
        self._outputs = self._interpreter.get_output_details()

    def run(self, blob: np.ndarray) -> dict[int, np.ndarray]:
        """Run one input; returns outputs keyed by their number of elements."""
        self._interpreter.set_tensor(self._input["index"], blob.astype(np.float32, copy=False))
        self._interpreter.invoke()
        return {int(np.prod(o["shape"])): self._interpreter.get_tensor(o["index"]) for o in self._outputs}
