"""Records that flow through the pipeline, one direction only.

video -> Frame -> Detection -> Landmarks -> AlignedFace -> FaceRecord (faceset/schema.py).
Images are RGB uint8 ``(H, W, 3)``; coordinates are float32 pixels of the source frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class FrameTimes:
    """When each frame of a video is shown, in display order: seconds from the file's start."""

    starts: tuple[float, ...]
    end: float              # when the last frame stops being shown
    time_base: Fraction     # the stream's clock tick, e.g. 1/12800


@dataclass(frozen=True)
class VideoInfo:
    """What a probe of a video (or an image folder) tells us."""

    path: Path
    width: int          # display width, after rotation
    height: int         # display height, after rotation
    fps: Fraction       # frames per second; 0 for an image folder
    frame_count: int
    duration: float     # seconds
    rotation: int       # degrees clockwise the decoder turns frames to display them (0, 90, 180, 270)
    has_audio: bool
    codec: str = ""
    damage: str = ""    # why the file holds less than its container promises ("" when it looks whole)
    times: FrameTimes | None = field(default=None, repr=False, compare=False)   # None: unknown (use fps)


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``image`` is ``(H, W, 3)`` uint8 RGB."""

    index: int
    pts: float          # seconds from the start (index / fps for a video)
    image: np.ndarray
    name: str = ""      # file name when the frame came from an image folder


@dataclass(frozen=True)
class Detection:
    """A face box from a detector.

    box: ``(4,)`` float32 x0, y0, x1, y1. keypoints: ``(5, 2)`` float32 in the order
    right eye (image left), left eye, nose tip, right mouth corner, left mouth corner,
    or None when the detector has none.
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray | None = None

    @property
    def size(self) -> float:
        """The longer side of the box in pixels."""
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))


@dataclass(frozen=True)
class Landmarks:
    """68 points in the iBUG 300-W layout, ``(68, 2)`` float32 frame pixels."""

    points: np.ndarray
    score: float | None = None


@dataclass(frozen=True)
class AlignedFace:
    """A face warped to the canonical template.

    image: ``(S, S, 3)`` uint8. matrix: ``(2, 3)`` float64, frame -> face pixels.
    coverage: side of the crop in template units (see align/template.py).
    """

    image: np.ndarray
    matrix: np.ndarray
    size: int
    coverage: float
