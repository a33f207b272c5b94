"""Every face of a set as columns (frame, track, pose, sharpness, identity, ...), measured once.

Measuring a face means decoding its PNG, so the table is cached with the set, in
``<set>/scores.safetensors`` (the columns as tensors, the file names and sizes in its
metadata). A face is known by its file name and size: a face added or rewritten since is
measured, a face gone (deleted, moved to ``rejected/``) is dropped, and everything else is
read back in milliseconds. The cache is written under the set's lock; while another
command holds it (an extract still running), the table is only kept in memory.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save

from faceswap.atomic import write_atomic
from faceswap.errors import FaceSetError, WorkspaceError
from faceswap.faceset.measures import THUMB_PIXELS, FaceMeasures, measure_file
from faceswap.faceset.store import FaceSet
from faceswap.locking import exclusive_lock
from faceswap.runtime.progress import NoProgress, Progress

log = logging.getLogger(__name__)

CACHE_NAME = "scores.safetensors"
CACHE_VERSION = "1"    # bump when a measure changes: older caches are then measured again
NO_TRACK = -1           # the track column's value for faces extracted before tracks existed
FLOATS = ("pts", "detection", "yaw", "pitch", "roll", "align_error", "sharpness", "brightness")
INTS = ("frame", "face_index", "track", "file_size")


@dataclass(frozen=True)
class FaceTable:
    """The faces of one set, row ``i`` = ``names[i]`` in ``folder``; arrays are indexed by row."""

    folder: Path
    names: tuple[str, ...]
    columns: dict[str, np.ndarray]      # FLOATS (float64) and INTS (int64), each (N,)
    boxes: np.ndarray                   # (N, 4) float32 frame pixels
    thumbs: np.ndarray                  # (N, 16, 16) uint8
    embeddings: np.ndarray              # (N, D) float32 unit vectors; rows without one are zero
    has_embedding: np.ndarray           # (N,) bool
    measured: int = field(default=0, compare=False)     # faces measured (not read from the cache) this time

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    @property
    def box_size(self) -> np.ndarray:
        """(N,) the longer side of each face's box, frame pixels."""
        return np.maximum(self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1])

    def paths(self, rows: Sequence[int] | np.ndarray | None = None) -> list[Path]:
        picked = range(len(self.names)) if rows is None else rows
        return [self.folder / self.names[int(i)] for i in picked]

    def subset(self, rows: Sequence[int] | np.ndarray) -> FaceTable:
        rows = np.asarray(rows, np.int64)
        return FaceTable(self.folder, tuple(self.names[i] for i in rows), {k: v[rows] for k, v in self.columns.items()},
                         self.boxes[rows], self.thumbs[rows], self.embeddings[rows], self.has_embedding[rows])


def load_table(faceset: FaceSet, progress: Progress | None = None, workers: int = 2,
               save_cache: bool = True) -> FaceTable:
    """The table of ``faceset``'s faces (in ``faces/``), measuring only faces the cache does not hold.

    A face file that cannot be read is left out with a warning naming it. ``save_cache=False``
    for callers that hold the set's lock themselves (``load_table_locked``).
    """
    if not faceset.exists():
        raise FaceSetError(f"no face set at {faceset.folder} (run faceswap extract first)")
    paths = faceset.face_paths()
    sizes = [_size(p) for p in paths]
    cached = _read_cache(faceset.folder / CACHE_NAME)
    known = {} if cached is None else {(n, int(s)) for n, s in zip(cached.names, cached["file_size"])}
    missing = [p for p, s in zip(paths, sizes) if (p.name, s) not in known]
    fresh = _measure_all(missing, progress if progress is not None else NoProgress(), workers)
    kept = [(p, s) for p, s in zip(paths, sizes) if (p.name, s) in known or p in fresh]
    table = _assemble(faceset.faces_dir, kept, cached, fresh)
    if save_cache and (fresh or cached is None or len(cached) != len(table)):
        try:
            with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
                write_table_cache(faceset, table)
        except WorkspaceError as exc:
            log.info("scores of %s not cached: %s", faceset.folder, exc)
    return table


def load_table_locked(faceset: FaceSet, progress: Progress | None = None) -> FaceTable:
    """``load_table`` for a caller holding the set's lock: faces measured now are cached at once."""
    table = load_table(faceset, progress, save_cache=False)
    if table.measured:
        write_table_cache(faceset, table)
    return table


def write_table_cache(faceset: FaceSet, table: FaceTable) -> None:
    """Cache ``table`` with the set (the caller holds the set's lock)."""
    tensors = {**table.columns, "boxes": table.boxes, "thumbs": table.thumbs, "embeddings": table.embeddings,
               "has_embedding": table.has_embedding.astype(np.uint8)}
    data = save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                metadata={"version": CACHE_VERSION, "names": json.dumps(list(table.names))})
    write_atomic(faceset.folder / CACHE_NAME, data)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _measure_all(paths: list[Path], progress: Progress, workers: int) -> dict[Path, FaceMeasures]:
    """Measure files in threads (PNG decoding releases the GIL); unreadable ones are warned about."""
    def one(path: Path) -> FaceMeasures | None:
        try:
            return measure_file(path)
        except FaceSetError as exc:
            log.warning("skipped %s", exc)
            return None

    result: dict[Path, FaceMeasures] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for path, measures in zip(paths, pool.map(one, paths)):
            if measures is not None:
                result[path] = measures
            progress.update(1)
    return result


def _assemble(folder: Path, rows: list[tuple[Path, int]], cached: FaceTable | None,
              fresh: dict[Path, FaceMeasures]) -> FaceTable:
    """One table, in ``rows`` order, of cached rows (copied in bulk) and freshly measured faces."""
    dim = _embedding_size(folder, cached, fresh)
    n = len(rows)
    columns = {k: np.zeros(n, np.float64) for k in FLOATS} | {k: np.zeros(n, np.int64) for k in INTS}
    boxes, thumbs = np.zeros((n, 4), np.float32), np.zeros((n, THUMB_PIXELS, THUMB_PIXELS), np.uint8)
    embeddings, has = np.zeros((n, dim), np.float32), np.zeros(n, bool)
    if cached is not None:
        where = {(name, int(size)): i for i, (name, size) in enumerate(zip(cached.names, cached["file_size"]))}
        pairs = [(i, where[(p.name, s)]) for i, (p, s) in enumerate(rows) if p not in fresh]
        if pairs:
            out, src = (np.array(v, np.int64) for v in zip(*pairs))
            for key in columns:
                columns[key][out] = cached.columns[key][src]
            boxes[out], thumbs[out], has[out] = cached.boxes[src], cached.thumbs[src], cached.has_embedding[src]
            if dim and cached.embeddings.shape[1] == dim:
                embeddings[out] = cached.embeddings[src]
    for i, (path, size) in enumerate(rows):
        row = fresh.get(path)
        if row is None:
            continue
        for key in FLOATS:
            columns[key][i] = getattr(row, key)
        columns["frame"][i], columns["face_index"][i], columns["file_size"][i] = row.frame, row.face_index, size
        columns["track"][i] = NO_TRACK if row.track is None else row.track
        boxes[i], thumbs[i] = row.box, row.thumb
        if row.embedding is not None:
            embeddings[i], has[i] = row.embedding, True
    return FaceTable(folder, tuple(p.name for p, _ in rows), columns, boxes, thumbs, embeddings, has, len(fresh))


def _embedding_size(folder: Path, cached: FaceTable | None, fresh: dict[Path, FaceMeasures]) -> int:
    dims = {len(m.embedding) for m in fresh.values() if m.embedding is not None}
    if cached is not None and cached.has_embedding.any():
        dims.add(cached.embeddings.shape[1])
    if len(dims) > 1:
        raise FaceSetError(f"face set {folder.parent} mixes identity embeddings of sizes {sorted(dims)}: its faces "
                           f"come from different identity plugins; extract it again with one")
    return dims.pop() if dims else 0


def _read_cache(path: Path) -> FaceTable | None:
    """The cached table, or None when there is none or it cannot be used (then everything is measured)."""
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="np") as handle:
            meta = handle.metadata() or {}
            if meta.get("version") != CACHE_VERSION:
                return None
            names = tuple(json.loads(meta["names"]))
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        columns = {key: tensors[key] for key in (*FLOATS, *INTS)}
        table = FaceTable(path.parent / "faces", names, columns, tensors["boxes"], tensors["thumbs"],
                          tensors["embeddings"], tensors["has_embedding"].astype(bool))
        if any(len(v) != len(names) for v in (*columns.values(), table.boxes, table.embeddings)):
            return None
        return table
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s is unreadable (%s); measuring the faces again", path, exc)
        return None
