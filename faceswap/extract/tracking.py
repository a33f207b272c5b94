"""Find faces frame by frame, running the detector only every Nth frame.

Between detections each face is followed by its landmarks, as real-time face
pipelines do: the previous frame's 68 points give the box the landmarker looks in,
and the identity embedding is carried along the track. A track whose new landmarks
jump in scale or position is dropped and the detector runs on that frame at once,
so a face that leaves or is covered is not followed into the background.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceswap.align.template import face_matrix, five_points
from faceswap.align.umeyama import apply
from faceswap.extract.plugins import ExtractPlugins
from faceswap.types import Detection, Landmarks

MAX_SCALE_CHANGE = 0.25      # relative change of face size between two frames
MAX_SHIFT = 0.35             # centre movement between two frames, in face widths


@dataclass(frozen=True)
class FoundFace:
    """A face in one frame: where it is, its landmarks and its identity.

    ``box_corners`` is the detector's box in template units (4 corners), so a tracked
    box keeps the size and placement the detector in use gives, whichever it is.
    """

    detection: Detection
    landmarks: Landmarks
    embedding: np.ndarray | None     # identity embedding, None without an identity plugin
    box_corners: np.ndarray


class FaceFinder:
    """Detect on the first frame of a window and whenever a track is lost; track otherwise."""

    def __init__(self, plugins: ExtractPlugins, min_size: int, max_faces: int) -> None:
        self.plugins = plugins
        self.min_size = min_size
        self.max_faces = max_faces
        self.tracks: list[FoundFace] = []

    def reset(self) -> None:
        self.tracks = []

    def find(self, image: np.ndarray) -> list[FoundFace]:
        """Faces of ``image``: followed from the previous frame when possible, else detected."""
        if self.tracks:
            followed = self._follow(image)
            if followed is not None:
                self.tracks = followed
                return followed
        self.tracks = self._detect(image)
        return self.tracks

    def _detect(self, image: np.ndarray) -> list[FoundFace]:
        detections = select_faces(self.plugins.detector.detect([image])[0], self.min_size, self.max_faces)
        if not detections:
            return []
        landmarks = self.plugins.landmarker.landmarks([image], [detections])[0]
        embeddings = (self.plugins.identity.embed([image] * len(landmarks), landmarks)
                      if self.plugins.identity is not None else [None] * len(landmarks))
        return [FoundFace(d, lm, e, _box_in_template(d.box, lm.points))
                for d, lm, e in zip(detections, landmarks, embeddings)]

    def _follow(self, image: np.ndarray) -> list[FoundFace] | None:
        """Landmarks in boxes predicted from the previous frame; None when a track is lost."""
        height, width = image.shape[:2]
        boxes = [box_from_landmarks(t.landmarks.points, t.box_corners) for t in self.tracks]
        predicted = [Detection(box, t.detection.score, five_points(t.landmarks.points))
                     for box, t in zip(boxes, self.tracks)]
        landmarks = self.plugins.landmarker.landmarks([image], [predicted])[0]
        followed = []
        for track, det, lm in zip(self.tracks, predicted, landmarks):
            if not _consistent(track.landmarks.points, lm.points, width, height):
                return None
            if lm.score is not None and lm.score < 0.5:     # the landmarker sees no face there
                return None
            followed.append(FoundFace(det, lm, track.embedding, track.box_corners))
        return followed


def select_faces(detections: list[Detection], min_size: int, max_faces: int) -> list[Detection]:
    """Drop small faces; keep the ``max_faces`` largest (0 = all)."""
    kept = sorted((d for d in detections if d.size >= min_size), key=lambda d: -d.size)
    return kept[:max_faces] if max_faces > 0 else kept


def box_from_landmarks(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """``(4,)`` float32 frame box around ``corners`` (template units) placed by these 68 points."""
    to_template = face_matrix(points, size=1, coverage=1.0)
    to_frame = np.linalg.inv(np.vstack([to_template, [0, 0, 1]]))[:2]
    frame_corners = apply(to_frame, corners)
    return np.concatenate([frame_corners.min(0), frame_corners.max(0)]).astype(np.float32)


def _box_in_template(box: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The 4 corners of a frame box in the template units of the face with these points."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    return apply(face_matrix(points, size=1, coverage=1.0), corners)


def _consistent(before: np.ndarray, after: np.ndarray, width: int, height: int) -> bool:
    """True when ``after`` is the same face as ``before`` moved a plausible amount."""
    size_before = np.ptp(before[17:], axis=0).max()
    size_after = np.ptp(after[17:], axis=0).max()
    if not np.isfinite(after).all() or size_after < 1:
        return False
    if abs(size_after / size_before - 1) > MAX_SCALE_CHANGE:
        return False
    shift = np.linalg.norm(after[17:].mean(0) - before[17:].mean(0))
    if shift > MAX_SHIFT * size_before:
        return False
    centre = after[17:].mean(0)
    return 0 <= centre[0] < width and 0 <= centre[1] < height
