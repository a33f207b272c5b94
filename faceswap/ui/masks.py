"""The mask-labels page's data: a face with its stored masks and labels, and saving its labels.

Saving goes through ``faceswap.segment.labels`` (``labels_from_json`` + ``import_labels``), the
code ``faceswap mask label`` runs on a label file: the page sends exactly that JSON format, with
the points in the pixels of the face as shown (``size``), so there is no second implementation
of label parsing, scaling or writing.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceswap.errors import InputError
from faceswap.faceset.store import FaceSet, read_face
from faceswap.segment.labels import import_labels, labels_from_json
from faceswap.ui.gallery import face_path

SHADE = (110, 40, 20)          # BGR (dark blue) of the overlay on what the mask leaves out
EDGE = (0, 215, 255)           # BGR of the mask's 50% outline


def face_info(faceset: FaceSet, name: str) -> dict[str, Any]:
    """Size, stored mask names and label polygons (in face pixels) of one face."""
    path = face_path(faceset, name)
    if not path.is_file():
        raise InputError(f"face set {faceset.folder.name} has no face {name} (rejected or deleted?)")
    _, record = read_face(path)
    labels = [{"kind": label.kind, "points": np.round(label.points, 2).tolist()} for label in record.labels]
    return {"name": name, "size": record.size, "masks": list(record.masks), "labels": labels}


def mask_overlay(faceset: FaceSet, name: str, mask: str) -> bytes:
    """A transparent PNG the size of the face: what mask ``mask`` leaves out shaded, its edge outlined."""
    path = face_path(faceset, name)
    if not path.is_file():
        raise InputError(f"face set {faceset.folder.name} has no face {name} (rejected or deleted?)")
    _, record = read_face(path)
    if mask not in record.masks:
        raise InputError(f"face {name} has no '{mask}' mask (it has: {', '.join(record.masks) or 'none'})")
    values = record.masks[mask]
    overlay = np.zeros((*values.shape, 4), np.uint8)
    overlay[..., :3] = SHADE
    overlay[..., 3] = ((255 - values.astype(np.float32)) * 0.65).astype(np.uint8)
    contours, _ = cv2.findContours((values > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(overlay, contours, -1, (*EDGE, 255), 1, lineType=cv2.LINE_AA)
    ok, data = cv2.imencode(".png", overlay)
    if not ok:
        raise InputError(f"{path}: cannot draw the mask overlay")
    return data.tobytes()


def save_labels(faceset: FaceSet, name: str, polygons: Any, size: Any) -> int:
    """Replace the face's labels by ``polygons`` ([{kind, points}], points in ``size`` px); returns how many."""
    labels, drawn_at = labels_from_json({"size": size, "faces": {name: polygons}}, f"labels of face {name}")
    import_labels(faceset, labels, drawn_at)
    return len(labels[name])
