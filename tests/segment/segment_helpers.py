"""Helpers of the segmentation-mask tests: a copy of the small real face sets, faces with landmarks, IoU."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from faceswap.align.umeyama import apply
from faceswap.faceset.store import FaceSet, read_face


@pytest.fixture
def mask_ws(tmp_path, facesets_root) -> Path:
    """A workspace of its own with face sets 'src' (AOC, 8 faces) and 'dst' (Katie Hill, 8 faces), 128 px."""
    shutil.copytree(facesets_root / "facesets", tmp_path / "mask_ws" / "facesets")
    return tmp_path / "mask_ws"


def load_faces(folder: Path) -> tuple[np.ndarray, np.ndarray, list]:
    """(faces (N, S, S, 3) uint8, landmarks (N, 68, 2) face pixels, records) of a face set folder."""
    faces, points, records = [], [], []
    for path in FaceSet(folder).face_paths():
        image, record = read_face(path)
        faces.append(image)
        points.append(apply(record.matrix, record.landmarks).astype(np.float32))
        records.append(record)
    return np.stack(faces), np.stack(points), records


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / max(1, (a | b).sum()))
