"""The tracks of a face set: which faces are one person seen without a break.

Faces extracted since face records carry a track (schema 3) keep the id extract gave them.
Faces from before have none; for them a track is derived here the way extract links faces
(box overlap with the previous frame's faces, split where the identity jumps), without the
cut test, which needs the frames' pixels. A derived track's key is negative and named after
its first face, ``-(1 + frame * 1000 + face index)``, so it stays the same when later faces
of the track are deleted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceswap.extract.linking import TrackLinker, unit_mean
from faceswap.faceset.table import NO_TRACK, FaceTable


@dataclass(frozen=True)
class Track:
    """One track: its key, its rows in the table, and its people-relevant summary."""

    key: int
    rows: np.ndarray                # (n,) int64 rows of the FaceTable, in frame order
    identity_sum: np.ndarray | None  # (D,) float64 sum of the faces' unit embeddings (None: no embeddings)
    frames: frozenset[int]

    @property
    def faces(self) -> int:
        return len(self.rows)

    def identity(self) -> np.ndarray | None:
        """Unit mean identity, or None."""
        return unit_mean(self.identity_sum)


def track_keys(table: FaceTable) -> np.ndarray:
    """``(N,)`` int64: each face's track key (stored, or derived for faces without one)."""
    keys = table["track"].copy()
    legacy = np.flatnonzero(keys == NO_TRACK)
    if len(legacy):
        keys[legacy] = _derived_keys(table, legacy)
    return keys


def tracks_of(table: FaceTable, keys: np.ndarray | None = None) -> list[Track]:
    """Every track of the table, in the order of their first face."""
    keys = track_keys(table) if keys is None else keys
    order = np.lexsort((table["face_index"], table["frame"]))
    rows_by_key: dict[int, list[int]] = {}
    for row in order:
        rows_by_key.setdefault(int(keys[row]), []).append(int(row))
    tracks = []
    for key, rows in rows_by_key.items():
        picked = np.asarray(rows, np.int64)
        with_identity = picked[table.has_embedding[picked]]
        identity = table.embeddings[with_identity].astype(np.float64).sum(0) if len(with_identity) else None
        tracks.append(Track(key, picked, identity, frozenset(int(f) for f in table["frame"][picked])))
    return tracks


def _derived_keys(table: FaceTable, rows: np.ndarray) -> np.ndarray:
    """Link faces without a stored track frame by frame, as extract would have."""
    order = rows[np.lexsort((table["face_index"][rows], table["frame"][rows]))]
    linker = TrackLinker()
    first_face: dict[int, int] = {}
    linked = np.zeros(len(table), np.int64)
    frames = table["frame"][order]
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    for start, end in zip(starts, np.r_[starts[1:], len(order)]):
        group = order[start:end]
        embeddings = [table.embeddings[r] if table.has_embedding[r] else None for r in group]
        for row, track in zip(group, linker.link(list(table.boxes[group]), embeddings)):
            linked[row] = track
            first_face.setdefault(track, int(row))
        linker.forget_ended()
    return np.array([-(1 + int(table["frame"][first_face[linked[r]]]) * 1000
                       + int(table["face_index"][first_face[linked[r]]])) for r in rows], np.int64)
