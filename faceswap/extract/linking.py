"""Link the faces of consecutive frames into tracks; split a track at a cut or an identity jump.

A track is one person seen without a break by one camera. A face continues the track
whose last box it overlaps most, unless the picture cut to another shot in between
(``is_cut``) or its identity embedding is far from the track's mean (someone else took
that place). A face missed for a frame or two (a detector miss) still continues its
track. Tracks are numbered 0, 1, 2, ... within a face set.

The linker's state is plain JSON, stored with the face set's resume mark, so a resumed
extract continues exactly the tracks an uninterrupted one would.
"""
from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

# Measured on the shared footage (the montage's 237 hard cuts, Lin-Manuel Miranda's 3, and
# the fast pans and head moves of Foreman and the talking heads): at a cut the grey thumbnail
# changes by 0.10-0.30 and the colour histogram by 0.38-0.86; within a shot at most 0.09 and 0.21.
CUT_THUMB = 0.08        # mean absolute difference of 32 x 18 grey thumbnails, 0-1
CUT_HISTOGRAM = 0.3     # half the L1 distance of hue-saturation histograms, 0-1
MIN_OVERLAP = 0.3       # box IoU a face needs with a track's last box to continue it
IDENTITY_JUMP = 0.25    # identity cosine to the track's mean below which a face starts a new track
KEEP_LOST = 2           # frames a track may miss (a detector miss) and still be continued

THUMB_SIZE = (32, 18)
HIST_BINS = (16, 8)


@dataclass(frozen=True)
class FrameSignature:
    """A frame in brief: ``thumb`` (18, 32) uint8 grey, ``hist`` (128,) float32 hue-saturation shares."""

    thumb: np.ndarray
    hist: np.ndarray


def frame_signature(image: np.ndarray) -> FrameSignature:
    """The signature of one RGB uint8 frame (a few milliseconds even at 1080p)."""
    small = cv2.resize(image, (THUMB_SIZE[0] * 2, THUMB_SIZE[1] * 2), interpolation=cv2.INTER_AREA)
    grey = cv2.resize(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), THUMB_SIZE, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, list(HIST_BINS), [0, 180, 0, 256]).ravel()
    return FrameSignature(grey, (hist / max(float(hist.sum()), 1.0)).astype(np.float32))


def is_cut(before: FrameSignature, after: FrameSignature) -> bool:
    """True when the picture changed as a cut changes it: both layout and colours at once."""
    thumb = np.abs(after.thumb.astype(np.float32) - before.thumb.astype(np.float32)).mean() / 255.0
    hist = 0.5 * float(np.abs(after.hist - before.hist).sum())
    return thumb > CUT_THUMB and hist > CUT_HISTOGRAM


def unit_mean(total: np.ndarray | None) -> np.ndarray | None:
    """The mean identity of faces from the sum of their unit embeddings: its direction (None: no sum, or 0)."""
    if total is None:
        return None
    norm = float(np.linalg.norm(total))
    return total / norm if norm > 0 else None


def box_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``(4,)`` x0, y0, x1, y1 boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = float(w * h)
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Track:
    id: int
    box: np.ndarray                 # (4,) float32, where it was last seen
    identity: np.ndarray | None     # (D,) float32 sum of its faces' embeddings (direction = mean identity)
    faces: int
    missed: int = 0                 # frames since it was last seen

    def mean_identity(self) -> np.ndarray | None:
        return unit_mean(self.identity)


class TrackLinker:
    """Gives each face of each frame, in frame order, the id of its track."""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        self.next_id = 0
        self.tracks: list[_Track] = []
        self.signature: FrameSignature | None = None
        self.ended: dict[int, _Track] = {}      # tracks that ended during the current batch (for identity)
        if state:
            self._load(state)

    def new_frame(self, image: np.ndarray | None) -> bool:
        """Start a frame; True when it follows a cut (every track ends). ``None``: no pixels, no cut test."""
        if image is None:
            return False
        signature = frame_signature(image)
        cut = self.signature is not None and is_cut(self.signature, signature)
        self.signature = signature
        if cut:
            self._end(self.tracks)
            self.tracks = []
        return cut

    def link(self, boxes: Sequence[np.ndarray], embeddings: Sequence[np.ndarray | None]) -> list[int]:
        """Track ids of this frame's faces (``(4,)`` boxes, unit embeddings or None), in order."""
        pairs = sorted(((box_overlap(t.box, b), ti, fi) for ti, t in enumerate(self.tracks)
                        for fi, b in enumerate(boxes)), reverse=True)
        chosen: dict[int, _Track] = {}
        used: set[int] = set()
        for overlap, ti, fi in pairs:
            if overlap < MIN_OVERLAP:
                break
            if ti in used or fi in chosen or not _same_person(self.tracks[ti], embeddings[fi]):
                continue
            used.add(ti)
            chosen[fi] = self.tracks[ti]
        seen: list[_Track] = []
        ids = []
        for fi, (box, embedding) in enumerate(zip(boxes, embeddings)):
            track = chosen.get(fi) or self._start()
            track.box = np.asarray(box, np.float32)
            track.missed = 0
            track.faces += 1
            if embedding is not None:
                vector = np.asarray(embedding, np.float32)
                track.identity = vector.copy() if track.identity is None else track.identity + vector
            seen.append(track)
            ids.append(track.id)
        lost = [t for ti, t in enumerate(self.tracks) if ti not in used]
        for track in lost:
            track.missed += 1
        self._end([t for t in lost if t.missed > KEEP_LOST])
        self.tracks = seen + [t for t in lost if t.missed <= KEEP_LOST]
        return ids

    def identity(self, track_id: int) -> np.ndarray | None:
        """Unit mean identity of a track seen in this batch (None without embeddings)."""
        for track in self.tracks:
            if track.id == track_id:
                return track.mean_identity()
        ended = self.ended.get(track_id)
        return ended.mean_identity() if ended is not None else None

    def forget_ended(self) -> None:
        """Drop the tracks that ended (call once their faces are written)."""
        self.ended = {}

    def state(self) -> dict[str, Any]:
        """JSON state to resume from (exact: arrays as base64 of their bytes)."""
        signature = None if self.signature is None else {
            "thumb": _b64(self.signature.thumb), "hist": _b64(self.signature.hist)}
        return {"next": self.next_id, "signature": signature,
                "tracks": [{"id": t.id, "box": [float(v) for v in t.box], "faces": t.faces, "missed": t.missed,
                            "identity": None if t.identity is None else _b64(t.identity)} for t in self.tracks]}

    def _start(self) -> _Track:
        track = _Track(self.next_id, np.zeros(4, np.float32), None, 0)
        self.next_id += 1
        return track

    def _end(self, tracks: Sequence[_Track]) -> None:
        self.ended.update({t.id: t for t in tracks})

    def _load(self, state: Mapping[str, Any]) -> None:
        self.next_id = int(state["next"])
        signature = state.get("signature")
        if signature:
            self.signature = FrameSignature(
                np.frombuffer(base64.b64decode(signature["thumb"]), np.uint8).reshape(THUMB_SIZE[::-1]).copy(),
                np.frombuffer(base64.b64decode(signature["hist"]), np.float32).copy())
        self.tracks = [_Track(int(t["id"]), np.asarray(t["box"], np.float32),
                              None if t["identity"] is None
                              else np.frombuffer(base64.b64decode(t["identity"]), np.float32).copy(),
                              int(t["faces"]), int(t["missed"])) for t in state.get("tracks", [])]


def _same_person(track: _Track, embedding: np.ndarray | None) -> bool:
    mean = track.mean_identity()
    if mean is None or embedding is None:
        return True
    return float(mean @ np.asarray(embedding, np.float32)) >= IDENTITY_JUMP


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")
