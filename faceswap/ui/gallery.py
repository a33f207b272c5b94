"""The face set browser's data: pages of faces, cached thumbnails, reject/restore, one face's metadata.

Thumbnails are small JPEGs cached in ``<workspace>/cache/thumbs/<set>/`` under the face's
name, size and mtime, so a re-extracted face gets a new one and the cache is safe to delete.
Rejecting moves a face file from ``faces/`` to ``rejected/`` beside it (never deletes), under
the set's lock, and notes why in ``rejected/rejected.json``: the same moves as ``faceswap faces
clean`` and ``restore`` (faceswap/curate/cleaning.py). Curation scores (sharpness, pose, ...) come
from the face set's cached score table (faceswap/faceset/table.py).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from faceswap.atomic import write_atomic
from faceswap.curate.cleaning import REJECTED_DIR, move_to_rejected, restore_faceset
from faceswap.errors import InputError, WorkspaceError
from faceswap.faceset.store import FACE_NAME, FaceSet, read_record
from faceswap.faceset.table import load_table
from faceswap.locking import exclusive_lock
from faceswap.workspace import Workspace

THUMB_SIZE = 96
SCORE_COLUMNS = ("sharpness", "yaw", "pitch", "roll", "brightness", "detection", "align_error")


def open_faceset(workspace: Workspace, name: str) -> FaceSet:
    """The face set called ``name``; InputError for a name that is not a plain folder name or not a set."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise InputError(f"'{name}' is not a face set name")
    faceset = FaceSet(workspace.faceset_dir(name))
    if not faceset.faces_dir.is_dir():
        raise InputError(f"no face set '{name}' in {workspace.facesets}")
    return faceset


def face_path(faceset: FaceSet, name: str, folder: str = "faces") -> Path:
    if not FACE_NAME.match(name):
        raise InputError(f"'{name}' is not a face file name")
    return faceset.folder / folder / name


def score_table(faceset: FaceSet) -> dict[str, dict[str, float]]:
    """{face name: {column: value}} from the set's cached score table (measured on first use)."""
    table = load_table(faceset)
    columns = [c for c in SCORE_COLUMNS if c in table.columns]
    return {name: {c: float(table[c][i]) for c in columns} for i, name in enumerate(table.names)}


def page(faceset: FaceSet, offset: int, limit: int, sort: str = "frame", descending: bool = False,
         where: str = "", minimum: float | None = None, maximum: float | None = None,
         rejected: bool = False) -> dict[str, Any]:
    """Face names for one page, in order, with the scores when sorting or filtering by one.

    ``rejected``: the faces in ``rejected/`` instead, in frame order (scores cover ``faces/`` only).
    """
    names = rejected_names(faceset) if rejected else [p.name for p in faceset.face_paths()]
    scores = None
    if not rejected and (sort != "frame" or where):
        scores = score_table(faceset)
        for column in {sort, where} - {"frame", ""}:
            if column not in SCORE_COLUMNS:
                raise InputError(f"unknown score '{column}' (one of: frame, {', '.join(SCORE_COLUMNS)})")
        names = [n for n in names if n in scores]
        if where:
            low = -math.inf if minimum is None else minimum
            high = math.inf if maximum is None else maximum
            names = [n for n in names if low <= scores[n][where] <= high]
        if sort != "frame":
            names.sort(key=lambda n: scores[n][sort], reverse=descending)
    elif descending:
        names.reverse()
    chosen = names[offset:offset + limit]
    faces = [{"name": n, **({"scores": scores[n]} if scores else {})} for n in chosen]
    return {"total": len(names), "offset": offset, "faces": faces, "rejected": len(rejected_names(faceset)),
            "scores_available": True}


def thumbnail(workspace: Workspace, faceset: FaceSet, name: str, rejected: bool = False) -> bytes:
    """JPEG bytes of a small copy of the face, from the cache when the face is unchanged.

    A move to or from ``rejected/`` keeps size and mtime, so the cached copy still serves it.
    """
    path = face_path(faceset, name, REJECTED_DIR if rejected else "faces")
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: the face file is gone (rejected or deleted?)") from None
    cached = workspace.cache / "thumbs" / faceset.folder.name / f"{path.stem}-{stat.st_size}-{stat.st_mtime_ns}.jpg"
    if cached.is_file():
        return cached.read_bytes()
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: unreadable face file")
    small = cv2.resize(image, (THUMB_SIZE, THUMB_SIZE), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise InputError(f"{path}: cannot make a thumbnail")
    cached.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(cached, data.tobytes())
    return data.tobytes()


def metadata(faceset: FaceSet, name: str, rejected: bool = False) -> dict[str, Any]:
    """A face's record as JSON-friendly values (masks left out: they are images)."""
    record = read_record(face_path(faceset, name, REJECTED_DIR if rejected else "faces"))
    data: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key == "masks":
            data["masks"] = sorted(value) if value else []
        elif isinstance(value, np.ndarray):
            data[key] = np.round(value.astype(np.float64), 2).tolist() if value.size <= 16 else f"array {value.shape}"
        elif hasattr(value, "__dataclass_fields__") or isinstance(value, (list, tuple)) and value and hasattr(value[0], "__dataclass_fields__"):
            data[key] = json.loads(json.dumps(value, default=lambda o: getattr(o, "__dict__", str(o))))
        else:
            data[key] = value if isinstance(value, (str, int, float, bool, type(None), list, dict, tuple)) else str(value)
    return data


def rejected_names(faceset: FaceSet) -> list[str]:
    folder = faceset.folder / REJECTED_DIR
    return sorted(p.name for p in folder.iterdir() if FACE_NAME.match(p.name)) if folder.is_dir() else []


def reject(faceset: FaceSet, names: list[str]) -> list[str]:
    """Move these faces to ``rejected/`` (a rename, never a delete); returns the names moved.

    Held under the set's lock, so a face is never moved while extract writes the set.
    """
    paths = [face_path(faceset, n) for n in names]
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        present = [path.name for path in paths if path.is_file()]
        return move_to_rejected(faceset, dict.fromkeys(present, ["rejected in faceswap ui"]))


def restore(faceset: FaceSet, names: list[str]) -> list[str]:
    """Move rejected faces back to ``faces/`` with ``faceswap faces restore``'s own code (under the
    set's lock; a face whose name is taken again in ``faces/`` stays)."""
    for name in names:
        face_path(faceset, name, REJECTED_DIR)          # names only, never paths
    return restore_faceset(faceset, names)[0] if names else []


__all__ = ["open_faceset", "page", "thumbnail", "metadata", "reject", "restore", "rejected_names", "WorkspaceError"]
