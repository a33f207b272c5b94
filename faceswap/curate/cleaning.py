"""Move bad faces out of a set, never deleting them (``faceswap faces clean`` / ``restore``).

A rejected face is moved from ``faces/`` to ``rejected/`` beside it (a rename: same file,
same bytes), and ``rejected/rejected.json`` records why. Training and merge read
``faces/`` only, so a rejected face is out of both; ``restore`` moves faces back.
Both hold the set's lock, like every command that writes a face set.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceswap.atomic import write_json_atomic
from faceswap.errors import FaceSetError
from faceswap.faceset.store import FaceSet
from faceswap.faceset.table import FaceTable, load_table_locked
from faceswap.locking import exclusive_lock
from faceswap.people.identify import People, identify
from faceswap.people.roster import read_roster
from faceswap.runtime.progress import Progress

log = logging.getLogger(__name__)

REJECTED_DIR = "rejected"
REJECTED_LOG = "rejected.json"


@dataclass(frozen=True)
class CleanRules:
    """When a face is rejected. Each rule is off when its value is None."""

    blur: float | None = 0.3            # sharpness below this share of the median sharpness of the face's person
    min_size: float | None = 40.0       # face box smaller than this many frame pixels
    duplicate: float | None = 0.25      # thumbnail within this mean grey difference (0-255) of a face kept before it
    outlier: float | None = 0.25        # identity cosine to the mean of the face's person below this
    align_error: float | None = 0.1     # landmarks further than this from a rigid face (align/pose.py fit_residual)


@dataclass(frozen=True)
class CleanResult:
    """What clean found (``rejects``: name -> reasons) and moved (nothing on a dry run)."""

    faces: int
    rejects: dict[str, list[str]]
    moved: list[str]


def clean_faceset(faceset: FaceSet, rules: CleanRules, dry_run: bool = False,
                  progress: Progress | None = None) -> CleanResult:
    """Find the faces ``rules`` reject and, unless ``dry_run``, move them to ``rejected/``."""
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        table = load_table_locked(faceset, progress)
        people = identify(table, read_roster(faceset)) if table.has_embedding.any() else None
        found = find_rejects(table, rules, people)
        rejects = {table.names[row]: why for row, why in sorted(found.items())}
        moved = [] if dry_run else move_to_rejected(faceset, rejects)
    return CleanResult(len(table), rejects, moved)


def restore_faceset(faceset: FaceSet, names: list[str] | None = None) -> tuple[list[str], list[str]]:
    """``restore`` under the set's lock."""
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        return restore(faceset, names)


def find_rejects(table: FaceTable, rules: CleanRules, people: People | None = None) -> dict[int, list[str]]:
    """{row: reasons} of the faces the rules reject (rows of ``table``)."""
    reasons: dict[int, list[str]] = {}

    def reject(rows: np.ndarray, text) -> None:
        for row in rows:
            reasons.setdefault(int(row), []).append(text(int(row)))

    if rules.blur is not None and len(table):
        median = _typical_sharpness(table, people)
        reject(np.flatnonzero(table["sharpness"] < rules.blur * median),
               lambda r: f"blurry (sharpness {table['sharpness'][r]:.3f} < {rules.blur} x {median[r]:.3f}, "
                         f"the median of its person)")
    if rules.min_size is not None:
        reject(np.flatnonzero(table.box_size < rules.min_size),
               lambda r: f"tiny ({table.box_size[r]:.0f} px < {rules.min_size:.0f})")
    if rules.align_error is not None:
        reject(np.flatnonzero(table["align_error"] > rules.align_error),
               lambda r: f"badly aligned (landmark fit error {table['align_error'][r]:.3f} > {rules.align_error})")
    if rules.outlier is not None and people is not None:
        cosines = _cosine_to_person(table, people)
        reject(np.flatnonzero(cosines < rules.outlier),
               lambda r: f"identity outlier (similarity to its person {cosines[r]:.2f} < {rules.outlier})")
    if rules.duplicate is not None:
        copies = _duplicates(table, rules.duplicate, people)
        reject(np.array(sorted(copies), np.int64),
               lambda r: f"duplicate of {table.names[copies[r]]}")
    return reasons


def _typical_sharpness(table: FaceTable, people: People | None) -> np.ndarray:
    """(N,) median sharpness of each face's person (of the whole set without people): what is sharp
    differs between a close-up and a face in the back of a hall, so each is judged against its own."""
    median = np.full(len(table), float(np.median(table["sharpness"])))
    for person in people.roster.persons if people is not None else ():
        rows = people.rows_of(person)
        if len(rows) >= 5:
            median[rows] = float(np.median(table["sharpness"][rows]))
    return median


def _cosine_to_person(table: FaceTable, people: People) -> np.ndarray:
    """(N,) identity cosine of each face to the mean of its person (+inf where there is nothing to compare)."""
    cosines = np.full(len(table), np.inf)
    for person in people.roster.persons:
        rows = people.rows_of(person)
        mean = people.identity_of(person)
        if mean is None or len(rows) < 3:
            continue        # a person seen once or twice is no basis for an outlier
        known = rows[table.has_embedding[rows]]
        cosines[known] = table.embeddings[known] @ mean.astype(np.float32)
    return cosines


def _duplicates(table: FaceTable, limit: float, people: People | None) -> dict[int, int]:
    """{row: row it copies}: a face is a copy when its thumbnail is within ``limit`` of a face kept before it,
    either the last kept face of its track or a kept face with the same 64-bit average hash."""
    thumbs = table.thumbs.astype(np.float32).reshape(len(table), -1)
    pooled = table.thumbs.astype(np.float32).reshape(len(table), 8, 2, 8, 2).mean((2, 4)).reshape(len(table), -1)
    hashes = [bytes(np.packbits(p > p.mean())) for p in pooled]
    keys = people.keys if people is not None else table["track"]
    copies: dict[int, int] = {}
    last_in_track: dict[int, int] = {}
    kept_by_hash: dict[bytes, list[int]] = {}
    for row in np.lexsort((table["face_index"], table["frame"])):
        row = int(row)
        candidates = kept_by_hash.get(hashes[row], [])
        previous = last_in_track.get(int(keys[row]))
        if previous is not None:
            candidates = [previous, *candidates]
        original = next((c for c in candidates if np.abs(thumbs[row] - thumbs[c]).mean() <= limit), None)
        if original is not None:
            copies[row] = original
            continue
        last_in_track[int(keys[row])] = row
        kept_by_hash.setdefault(hashes[row], []).append(row)
    return copies


def move_to_rejected(faceset: FaceSet, reasons: dict[str, list[str]]) -> list[str]:
    """Move these face files (by name) to ``rejected/`` and log why; returns the names moved.

    The caller holds the set's lock. The reasons are written first and each move is a
    rename, so a kill leaves every face whole, in one folder or the other.
    """
    folder = faceset.folder / REJECTED_DIR
    folder.mkdir(exist_ok=True)
    taken = {name for name in reasons if (folder / name).exists()}
    for name in sorted(taken):
        log.warning("%s is already in %s; left in faces/", name, folder)
    log_data = {**read_rejected_log(faceset), **{n: {"reasons": r} for n, r in reasons.items() if n not in taken}}
    write_json_atomic(folder / REJECTED_LOG, log_data)
    moved: list[str] = []
    for name in sorted(set(reasons) - taken):
        os.replace(faceset.faces_dir / name, folder / name)
        moved.append(name)
    _tidy_log(faceset)
    return moved


def _tidy_log(faceset: FaceSet) -> None:
    """Keep the log's entries of faces that are in rejected/ now."""
    folder = faceset.folder / REJECTED_DIR
    log_data = read_rejected_log(faceset)
    write_json_atomic(folder / REJECTED_LOG, {k: v for k, v in log_data.items() if (folder / k).exists()})


def restore(faceset: FaceSet, names: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Move rejected faces (all, or these names) back to ``faces/``: (restored, left in rejected/).

    A face whose name is taken in ``faces/`` again (extracted anew) stays in ``rejected/``.
    The caller holds the set's lock.
    """
    folder = faceset.folder / REJECTED_DIR
    present = sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []
    wanted = present if names is None else [n for n in names if n in present]
    missing = [] if names is None else [n for n in names if n not in present]
    if missing:
        raise FaceSetError(f"{', '.join(missing[:5])} {'is' if len(missing) == 1 else 'are'} not in {folder}")
    restored, kept = [], []
    faceset.faces_dir.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        if (faceset.faces_dir / name).exists():
            kept.append(name)
            continue
        os.replace(folder / name, faceset.faces_dir / name)
        restored.append(name)
    if folder.is_dir():
        _tidy_log(faceset)
    return restored, kept


def read_rejected_log(faceset: FaceSet) -> dict[str, dict]:
    """{name: {"reasons": [...]}} of the rejected faces ({} when none)."""
    path = faceset.folder / REJECTED_DIR / REJECTED_LOG
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); starting a new one", path, exc)
        return {}


def rejected_dir(faceset: FaceSet) -> Path:
    return faceset.folder / REJECTED_DIR
