"""What one face file says about its face: pose, alignment fit, sharpness, brightness, size, identity.

Everything comes from one read of the file: the record (metadata chunk) and the pixels
decoded in grey. Sharpness, brightness and the thumbnail look at the same central square
of the aligned face (the brows-to-mouth region and a little around it), resampled to a
fixed size, so faces stored at any size or coverage measure alike. Sharpness is the
Laplacian's variance over the grey levels' variance: fine detail relative to the face's
contrast, so a dim face in a dark room is not taken for a blurry one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceswap.align.pose import fit_residual, head_pose
from faceswap.errors import FaceSetError
from faceswap.faceset.schema import FaceRecord, record_from_json
from faceswap.faceset.store import read_face_bytes
from faceswap.media.pngmeta import read_json

REGION = 1.1            # side of the measured square, in template units (the inner face is 1.0 wide)
REGION_PIXELS = 64      # the square is resampled to this many pixels before measuring
THUMB_PIXELS = 16       # side of the grey thumbnail kept to spot duplicates


@dataclass(frozen=True)
class FaceMeasures:
    """One face's numbers. ``thumb``: (16, 16) uint8 grey; ``embedding``: (D,) float32 or None."""

    frame: int
    face_index: int
    track: int | None
    pts: float
    box: np.ndarray             # (4,) float32 frame pixels
    detection: float            # detector confidence
    yaw: float
    pitch: float
    roll: float
    align_error: float          # landmarks' distance from a rigid face (align/pose.py fit_residual)
    sharpness: float            # variance of the Laplacian over the variance of the grey levels (higher: sharper)
    brightness: float           # mean grey level of the central square, 0-255
    thumb: np.ndarray
    embedding: np.ndarray | None


def measure_file(path: Path) -> FaceMeasures:
    """Read and measure one face file; FaceSetError naming it when it cannot be read."""
    raw = read_face_bytes(path)
    try:
        data = read_json(raw)
        grey = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE)
    except ValueError as exc:
        raise FaceSetError(f"{path}: unreadable face file ({exc})") from exc
    if data is None or grey is None:
        raise FaceSetError(f"{path}: not a faceswap face file (no metadata or no image)")
    return measure(record_from_json(data, str(path), masks=False), grey)


def measure(record: FaceRecord, grey: np.ndarray) -> FaceMeasures:
    """The numbers of a face from its record and its ``(S, S)`` uint8 grey pixels."""
    pose = head_pose(record.landmarks)
    square = central_square(grey, record.coverage)
    laplacian = cv2.Laplacian(square, cv2.CV_32F)
    return FaceMeasures(
        frame=record.frame_index, face_index=record.face_index, track=record.track, pts=record.pts,
        box=np.asarray(record.box, np.float32), detection=float(record.detection_score),
        yaw=pose.yaw, pitch=pose.pitch, roll=pose.roll, align_error=fit_residual(record.landmarks),
        sharpness=float(laplacian.var()) / (float(square.var()) + 1.0), brightness=float(square.mean()),
        thumb=cv2.resize(square, (THUMB_PIXELS, THUMB_PIXELS), interpolation=cv2.INTER_AREA),
        embedding=record.embedding,
    )


def central_square(image: np.ndarray, coverage: float) -> np.ndarray:
    """The ``REGION``-unit square at the centre of an aligned face, resampled to ``REGION_PIXELS``."""
    size = image.shape[0]
    half = min(0.5, REGION / coverage / 2) * size
    lo, hi = int(round(size / 2 - half)), int(round(size / 2 + half))
    region = image[lo:hi, lo:hi]
    interpolation = cv2.INTER_AREA if region.shape[0] >= REGION_PIXELS else cv2.INTER_LINEAR
    return cv2.resize(region, (REGION_PIXELS, REGION_PIXELS), interpolation=interpolation)
