"""Score runs of consecutive frame pairs (original, swapped): one FaceScore per face.

A run is a few consecutive frames starting at every Nth frame. Identity, pose,
expression, sharpness and blend are measured on its first frame; the landmarks and
the face colour of all its frames give the temporal stability (second differences,
which are zero for steady motion and grow with jitter and flicker).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from faceswap.align.pose import head_pose
from faceswap.score import measures
from faceswap.score.identity import ScoreEmbedder
from faceswap.types import Detection

THUMB_HEIGHT = 144


@dataclass(frozen=True)
class FramePair:
    """One frame of the original and the same frame of the swap, and the faces to score."""

    index: int
    original: np.ndarray        # (H, W, 3) uint8 RGB
    swapped: np.ndarray         # same shape
    boxes: tuple[np.ndarray, ...]   # (4,) frame boxes of the swapped faces


@dataclass(frozen=True)
class IdentityReferences:
    """Mean identity vectors: the source and destination people and every face set known."""

    source: np.ndarray                  # (128,) unit
    destination: np.ndarray             # (128,) unit
    sets: dict[str, np.ndarray]         # face set name -> (128,) unit (top-1 retrieval)
    source_sets: tuple[str, ...]        # names that count as "the source person"


@dataclass
class FaceScore:
    """Every measure of one face (None where it could not be measured)."""

    frame: int
    face: int
    box: list[float]
    cos_original: float
    pose_error: float
    axes_error: list[float]            # |yaw|, |pitch|, |roll| differences, degrees
    axes_delta: list[float]            # the same, signed: swapped less original
    expression_error: float
    sharpness: float
    blend_delta_e: float | None
    seam: float | None
    jitter_original: float | None = None
    jitter_swapped: float | None = None
    flicker_original: float | None = None
    flicker_swapped: float | None = None
    pose_original: list[float] | None = None    # yaw, pitch, roll of the original head, degrees
    cos_source: float | None = None         # filled in by attach_identity
    cos_destination: float | None = None
    retrieved: str | None = None            # the face set whose mean is nearest
    vector: np.ndarray | None = field(default=None, repr=False)      # (128,) identity of the swapped face
    thumbs: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k not in ("thumbs", "vector")}
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in data.items()}


def attach_identity(faces: Sequence[FaceScore], references: IdentityReferences) -> None:
    """Fill in each face's cosines to the source and destination people and its nearest face set."""
    names = list(references.sets)
    means = np.stack([references.sets[n] for n in names]) if names else np.zeros((0, 128))
    for face in faces:
        if face.vector is None:
            continue
        face.cos_source = float(face.vector @ references.source)
        face.cos_destination = float(face.vector @ references.destination)
        face.retrieved = names[int(np.argmax(means @ face.vector))] if names else None


class RunScorer:
    """Landmarks from the landmarker plugin, identity from the score's own embedder."""

    def __init__(self, landmarker: Any, embedder: ScoreEmbedder) -> None:
        self.landmarker = landmarker
        self.embedder = embedder

    def score(self, run: Sequence[FramePair]) -> list[FaceScore]:
        boxes = run[0].boxes
        if not boxes:
            return []
        detections = [Detection(np.asarray(b, np.float32), 1.0) for b in boxes]
        images = [image for pair in run for image in (pair.original, pair.swapped)]
        found = self.landmarker.landmarks(images, [detections] * len(images))
        points = [[lm.points.astype(np.float64) for lm in faces] for faces in found]   # [image][face]
        first = run[0]
        vectors = self.embedder.embed([first.original, first.swapped] * len(boxes),
                                      [p for k in range(len(boxes)) for p in (points[0][k], points[1][k])])
        scores = []
        for k, box in enumerate(boxes):
            score = self._first_frame(first, k, box, points[0][k], points[1][k], vectors[2 * k], vectors[2 * k + 1])
            if len(run) >= 3:
                self._stability(score, run[:3], [points[2 * j][k] for j in range(3)],
                                [points[2 * j + 1][k] for j in range(3)])
            scores.append(score)
        return scores

    def _first_frame(self, pair: FramePair, face: int, box: np.ndarray, original: np.ndarray,
                     swapped: np.ndarray, original_vector: np.ndarray, swapped_vector: np.ndarray) -> FaceScore:
        pose, delta = measures.pose_error(original, swapped)
        region = measures.face_region(original)
        sharp_before = measures.high_frequency(region.crop(pair.original), region.mask)
        sharp_after = measures.high_frequency(region.crop(pair.swapped), region.mask)
        blend = measures.blend_measure(pair.original, pair.swapped, original)
        return FaceScore(
            frame=pair.index, face=face, box=[round(float(v), 1) for v in box],
            cos_original=float(swapped_vector @ original_vector), pose_error=pose,
            axes_error=[round(abs(float(a)), 3) for a in delta], axes_delta=[round(float(a), 3) for a in delta],
            pose_original=[round(float(a), 3) for a in head_pose(original).as_array()],
            expression_error=measures.expression_error(original, swapped),
            sharpness=sharp_after / max(sharp_before, 1e-6),
            blend_delta_e=None if blend is None else blend.delta_e, seam=None if blend is None else blend.seam,
            vector=swapped_vector, thumbs=(thumbnail(pair.original, box), thumbnail(pair.swapped, box)),
        )

    @staticmethod
    def _stability(score: FaceScore, run: Sequence[FramePair], original: list[np.ndarray],
                   swapped: list[np.ndarray]) -> None:
        """Second differences over three frames: landmark jitter and face colour flicker."""
        scale = measures.inter_ocular(original[0])
        score.jitter_original = _second_difference(original) / scale
        score.jitter_swapped = _second_difference(swapped) / scale
        colours_before, colours_after = [], []
        for pair, points in zip(run, original):
            region = measures.face_region(points)
            colours_before.append(measures.mean_lab(region.crop(pair.original), region.mask))
            colours_after.append(measures.mean_lab(region.crop(pair.swapped), region.mask))
        score.flicker_original = float(np.linalg.norm(colours_before[0] - 2 * colours_before[1] + colours_before[2]))
        score.flicker_swapped = float(np.linalg.norm(colours_after[0] - 2 * colours_after[1] + colours_after[2]))


def _second_difference(points: Sequence[np.ndarray]) -> float:
    return float(np.linalg.norm(points[0] - 2 * points[1] + points[2], axis=1).mean())


def thumbnail(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The face's neighbourhood with its box drawn, ``THUMB_HEIGHT`` pixels high."""
    x0, y0, x1, y1 = np.asarray(box, np.float64)
    grow = max(x1 - x0, y1 - y0) * 0.5
    height, width = image.shape[:2]
    wx0, wy0 = int(max(x0 - grow, 0)), int(max(y0 - grow, 0))
    wx1, wy1 = int(min(x1 + grow, width)), int(min(y1 + grow, height))
    window = np.ascontiguousarray(image[wy0:wy1, wx0:wx1])
    scale = THUMB_HEIGHT / max(window.shape[0], 1)
    small = cv2.resize(window, (max(1, round(window.shape[1] * scale)), THUMB_HEIGHT), interpolation=cv2.INTER_AREA)
    corner0 = (round((x0 - wx0) * scale), round((y0 - wy0) * scale))
    corner1 = (round((x1 - wx0) * scale), round((y1 - wy0) * scale))
    cv2.rectangle(small, corner0, corner1, (0, 255, 0), 1, cv2.LINE_AA)
    return small
