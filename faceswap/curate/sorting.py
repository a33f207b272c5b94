"""Order a face set's faces by one measure (``faceswap faces sort``), from the cached face table."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceswap.errors import InputError
from faceswap.faceset.table import FaceTable
from faceswap.people.identify import People

ALIGN_BAD = 0.1         # landmark fit error at which a face counts as badly aligned (faceswap/align/pose.py)

# key -> what comes first
SORT_KEYS = {
    "blur": "sharpest first, blurriest last (Laplacian variance over grey variance of the central face)",
    "pose": "most frontal first (yaw and pitch together, degrees from frontal)",
    "yaw": "turned to the image's left first, to its right last (degrees)",
    "pitch": "looking down first, up last (degrees)",
    "brightness": "brightest first (mean grey level of the central face, 0-255)",
    "identity": "grouped by person, largest group first; each person's most typical faces first",
    "size": "largest face box first (frame pixels)",
    "score": "best first: sharpness, detector confidence and landmark fit together (0-1)",
    "similarity-to": "most like the person in PHOTO first (identity cosine)",
}


@dataclass(frozen=True)
class SortedFaces:
    """``rows`` of the table in order, and the value each was sorted by (``values[k]`` is row ``rows[k]``'s)."""

    rows: np.ndarray
    values: np.ndarray
    by: str


def sort_faces(table: FaceTable, by: str, *, reference: np.ndarray | None = None,
               people: People | None = None) -> SortedFaces:
    """Faces of ``table`` in the order ``by`` gives (see SORT_KEYS); ties keep frame order."""
    if by not in SORT_KEYS:
        raise InputError(f"cannot sort by '{by}': choose one of {', '.join(SORT_KEYS)}")
    if by == "identity":
        return _by_identity(table, people)
    values = _values(table, by, reference)
    descending = by in ("blur", "brightness", "size", "score", "similarity-to")
    order = np.argsort(-values if descending else values, kind="stable")
    return SortedFaces(order, values[order], by)


def quality(table: FaceTable) -> np.ndarray:
    """(N,) 0-1: detector confidence x sharpness against the set's median (capped at 1) x landmark fit."""
    median = float(np.median(table["sharpness"])) if len(table) else 1.0
    sharp = np.clip(table["sharpness"] / max(median, 1e-6), 0.0, 1.0)
    fit = np.clip(1.0 - table["align_error"] / ALIGN_BAD, 0.0, 1.0)
    return np.clip(table["detection"], 0.0, 1.0) * sharp * fit


def _values(table: FaceTable, by: str, reference: np.ndarray | None) -> np.ndarray:
    if by == "blur":
        return table["sharpness"]
    if by in ("yaw", "pitch", "brightness"):
        return table[by]
    if by == "pose":
        return np.hypot(table["yaw"], table["pitch"])
    if by == "size":
        return table.box_size.astype(np.float64)
    if by == "score":
        return quality(table)
    if reference is None:
        raise InputError("--by similarity-to needs a photo: faceswap faces sort SET PHOTO --by similarity-to")
    _need_identities(table)
    return np.where(table.has_embedding, table.embeddings @ reference.astype(np.float32), -1.0).astype(np.float64)


def _by_identity(table: FaceTable, people: People | None) -> SortedFaces:
    """Person by person (people.json when there is one, else found afresh); typical faces first."""
    _need_identities(table)
    if people is None:
        raise InputError("sorting by identity needs the set's people")
    order, values = [], []
    for person in people.roster.persons:
        rows = people.rows_of(person)
        mean = people.identity_of(person)
        cosine = (np.where(table.has_embedding[rows], table.embeddings[rows] @ mean.astype(np.float32), -1.0)
                  if mean is not None else np.full(len(rows), -1.0))
        within = np.argsort(-cosine, kind="stable")
        order.append(rows[within])
        values.append(cosine[within])
    return SortedFaces(np.concatenate(order), np.concatenate(values).astype(np.float64), "identity")


def _need_identities(table: FaceTable) -> None:
    if len(table) and not table.has_embedding.any():
        raise InputError(f"face set {table.folder.parent} holds no identity embeddings (extracted with "
                         f"--identity none): identity sorting needs them")
