"""What a workspace holds, for the Workspace page: face sets, models and outputs with counts, sizes, dates."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faceswap.faceset.store import FACE_NAME, FaceSet
from faceswap.workspace import Workspace

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v"}


def folder_size(folder: Path) -> int:
    """Bytes of every file under ``folder`` (0 when it is gone)."""
    total = 0
    for path in folder.rglob("*") if folder.is_dir() else ():
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:          # a file removed while we walk
            pass
    return total


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def facesets(workspace: Workspace) -> list[dict[str, Any]]:
    """One row per face set: name, faces, rejected faces, size, modified, complete, source."""
    rows = []
    for folder in sorted(p for p in workspace.facesets.glob("*") if p.is_dir()) if workspace.facesets.is_dir() else ():
        faceset = FaceSet(folder)
        row: dict[str, Any] = {"name": folder.name, "faces": len(faceset), "size": folder_size(folder),
                               "modified": _mtime(faceset.manifest_path if faceset.exists() else folder),
                               "rejected": _count_faces(folder / "rejected"), "complete": False, "source": ""}
        try:
            manifest = faceset.read_manifest()
            row.update(complete=manifest.complete, source=manifest.source_name,
                       frames=manifest.frame_count, face_size=manifest.face_size)
        except Exception as exc:    # an unfinished or broken set is still listed, with why
            row["problem"] = str(exc)
        rows.append(row)
    return rows


def _count_faces(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if FACE_NAME.match(p.name)) if folder.is_dir() else 0


def models(workspace: Workspace) -> list[dict[str, Any]]:
    """One row per model folder: name, plugin, iteration, size, modified."""
    rows = []
    for folder in sorted(p for p in workspace.models.glob("*") if p.is_dir()) if workspace.models.is_dir() else ():
        row: dict[str, Any] = {"name": folder.name, "size": folder_size(folder),
                               "modified": _mtime(folder / "trainer.json"), "plugin": "", "iteration": 0}
        for name, keys in (("model.json", ("plugin",)), ("trainer.json", ("iteration",))):
            try:
                data = json.loads((folder / name).read_text(encoding="utf-8"))
                row.update({k: data.get(k, row[k]) for k in keys})
            except (OSError, ValueError):
                pass
        row["trained"] = (folder / "weights.safetensors").is_file()
        rows.append(row)
    return rows


def outputs(workspace: Workspace) -> list[dict[str, Any]]:
    """Files in output/ (videos, preview PNGs, session files), newest first."""
    if not workspace.output.is_dir():
        return []
    rows = [{"name": p.name, "size": p.stat().st_size, "modified": p.stat().st_mtime}
            for p in workspace.output.iterdir() if p.is_file() and not p.name.startswith(".")]
    return sorted(rows, key=lambda r: -r["modified"])


def videos(workspace: Workspace) -> list[dict[str, Any]]:
    """Videos the merge tuner can open: uploads and the sources of face sets found beside them."""
    folder = workspace.root / "uploads"
    if not folder.is_dir():
        return []
    return [{"name": p.name, "path": str(p)} for p in sorted(folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES]


def summary(workspace: Workspace) -> dict[str, Any]:
    return {"root": str(workspace.root.resolve()), "facesets": facesets(workspace), "models": models(workspace),
            "outputs": outputs(workspace), "videos": videos(workspace)}
