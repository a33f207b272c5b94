"""Warp faces between the frame and the aligned crop, both directions."""
from __future__ import annotations

import cv2
import numpy as np

from faceswap.align.template import face_matrix
from faceswap.align.umeyama import apply
from faceswap.types import AlignedFace, Landmarks


def align_face(frame: np.ndarray, landmarks: Landmarks, size: int, coverage: float) -> AlignedFace:
    """Crop the face of ``landmarks`` out of ``frame`` onto the canonical template."""
    matrix = face_matrix(landmarks.points, size, coverage)
    return AlignedFace(warp_to_face(frame, matrix, size), matrix, size, coverage)


def warp_to_face(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """frame ``(H, W, C)`` -> ``(size, size, C)`` through the frame->face ``matrix``."""
    scale = np.sqrt(abs(np.linalg.det(matrix[:, :2])))
    # shrinking by more than 2x aliases with bilinear sampling; area-like cubic is safer
    flags = cv2.INTER_CUBIC if scale < 0.5 else cv2.INTER_LINEAR
    return cv2.warpAffine(frame, matrix, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def warp_to_frame(face: np.ndarray, matrix: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """face crop -> frame ``(H, W, ...)`` through the inverse of the frame->face ``matrix``.

    frame_size is (width, height). Pixels outside the crop come out 0.
    """
    return cv2.warpAffine(face, matrix, frame_size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def points_to_face(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``(N, 2)`` frame points -> face crop points."""
    return apply(matrix, points).astype(np.float32)
