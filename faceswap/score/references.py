"""Mean identity vectors of face sets, computed once and cached in the workspace.

Up to SAMPLE faces spread over the set are embedded from their stored aligned crops; the
cache (``<workspace>/cache/score/<set>.json``) is keyed by the set's file names and sizes,
so adding or deleting a face recomputes it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from faceswap.atomic import write_json_atomic
from faceswap.align.warp import points_to_face
from faceswap.errors import FaceSetError
from faceswap.faceset.store import FaceSet, read_face
from faceswap.runtime.progress import NoProgress, Progress
from faceswap.score.identity import DLIB_RESNET, ScoreEmbedder, unit_mean
from faceswap.workspace import Workspace

SAMPLE = 48


def faceset_identity(faceset: FaceSet, embedder: ScoreEmbedder, cache_dir: Path) -> np.ndarray:
    """``(128,)`` unit mean identity of a face set; FaceSetError when it holds no face."""
    paths = faceset.face_paths()
    if not paths:
        raise FaceSetError(f"face set {faceset.folder} holds no faces")
    key = _listing_key(paths)
    cache = cache_dir / f"{faceset.folder.name}.json"
    cached = _read_cache(cache, key)
    if cached is not None:
        return cached
    picks = [paths[i] for i in np.unique(np.linspace(0, len(paths) - 1, min(SAMPLE, len(paths))).astype(int))]
    chips = []
    for path in picks:
        image, record = read_face(path)
        chips.append(embedder.chip(image, points_to_face(record.landmarks, record.matrix).astype(np.float64)))
    mean = unit_mean(embedder.embed_chips(chips))
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(cache, {"key": key, "faces": len(picks), "mean": [round(float(v), 6) for v in mean]})
    return mean


def workspace_identities(workspace: Workspace, embedder: ScoreEmbedder,
                         progress: Progress | None = None) -> dict[str, np.ndarray]:
    """{face set name: mean identity} for every face set in the workspace."""
    progress = progress if progress is not None else NoProgress()
    result: dict[str, np.ndarray] = {}
    folders = sorted(p for p in workspace.facesets.glob("*") if (p / FaceSet.MANIFEST).is_file())
    for folder in folders:
        faceset = FaceSet(folder)
        if faceset.face_paths():
            result[folder.name] = faceset_identity(faceset, embedder, workspace.cache / "score")
        progress.update(1)
    return result


def _listing_key(paths: list[Path]) -> str:
    listing = "\n".join(f"{p.name} {p.stat().st_size}" for p in paths)
    return hashlib.sha256(f"{DLIB_RESNET.sha256}\n{listing}".encode()).hexdigest()


def _read_cache(path: Path, key: str) -> np.ndarray | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") == key:
            return np.asarray(data["mean"], np.float32)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None
