"""The merge tuner: one frame merged with merge's own code, before | after, fast enough for a slider.

The model runs once per (video, frame, model) and its output is kept; changing the colour
transfer, blender, mask, erode, blur or sharpen only repeats merge's paste step (``Merger.finish``).
Landmark smoothing works across frames, so the preview shows the frame unsmoothed; the
render applies it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from faceswap.cli.context import AppContext
from faceswap.errors import InputError
from faceswap.faceset.store import FaceSet
from faceswap.merge.pipeline import Merger, MergeSettings, faces_by_frame
from faceswap.merge.session import PasteStyle
from faceswap.merge.swapper import FaceSwapper
from faceswap.ui.frames import FrameCache

JPEG_QUALITY = 88


@dataclass(frozen=True)
class PreviewRequest:
    video: Path
    index: int
    model: str
    style: PasteStyle
    faceset: str = ""               # default: the video's file stem, as merge does


class Tuner:
    """Caches of everything a preview needs: frames, face records, loaded models, model outputs."""

    def __init__(self, app: AppContext, keep_jobs: int = 8) -> None:
        self.app = app
        self.frames = FrameCache()
        self._swappers: dict[tuple[str, float], FaceSwapper] = {}
        self._faces: dict[tuple[str, float], dict[int, list]] = {}
        self._jobs: OrderedDict[tuple, Any] = OrderedDict()
        self._plugins: dict[tuple[str, str], Any] = {}
        self.keep_jobs = keep_jobs
        self._lock = threading.Lock()       # one preview at a time: the caches are not thread-safe

    def info(self, video: Path) -> dict[str, Any]:
        source = self.frames.source(video)
        return {"frames": source.info.frame_count, "fps": float(source.info.fps),
                "width": source.info.width, "height": source.info.height}

    def preview(self, request: PreviewRequest) -> tuple[bytes, int]:
        """(JPEG of before | after, faces swapped) for one frame and style."""
        style = request.style.checked("merge tuner")
        with self._lock:
            frame = self.frames.frame(request.video, request.index)
            swapper = self._swapper(request.model)
            faces = self._faceset_faces(request.faceset or request.video.stem)
            merger = Merger(swapper, self._plugin("color", style.color), self._plugin("blender", style.blender),
                            style.merge_settings(MergeSettings(smooth=False)), 1.0)
            key = (str(request.video), request.index, request.model, id(swapper), id(faces))
            job = self._jobs.get(key)
            if job is None:
                job = merger.infer([frame], faces)[0]
                self._jobs[key] = job
                while len(self._jobs) > self.keep_jobs:
                    self._jobs.popitem(last=False)
            _, merged, count = merger.finish(job)
        side = np.concatenate([frame.image, merged], axis=1)
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(side, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise InputError("cannot encode the preview")
        return data.tobytes(), count

    def _swapper(self, name: str) -> FaceSwapper:
        folder = self.app.workspace.model_dir(name)
        weights = folder / "weights.safetensors"
        if not name or "/" in name or not weights.is_file():
            raise InputError(f"no trained model '{name}' in {self.app.workspace.models} (train one first)")
        key = (name, weights.stat().st_mtime)       # a model that trained on since is loaded again
        if key not in self._swappers:
            self._swappers = {k: v for k, v in self._swappers.items() if k[0] != name}
            self._swappers[key] = FaceSwapper(folder, self.app.registry, self.app.device())
        return self._swappers[key]

    def _faceset_faces(self, name: str) -> dict[int, list]:
        faceset = FaceSet(self.app.workspace.faceset_dir(name))
        if not faceset.faces_dir.is_dir():
            raise InputError(f"no face set '{name}' for this video: extract it first (Workspace page)")
        key = (name, faceset.faces_dir.stat().st_mtime)     # a rejected or added face changes the folder
        if key not in self._faces:
            self._faces = {k: v for k, v in self._faces.items() if k[0] != name}
            self._faces[key] = faces_by_frame(faceset)
        return self._faces[key]

    def _plugin(self, kind: str, name: str) -> Any:
        if name not in self.app.registry.names(kind):
            raise InputError(f"unknown {kind} '{name}' (one of: {', '.join(self.app.registry.names(kind))})")
        if (kind, name) not in self._plugins:
            options = self.app.plugin_options({kind: [name]}, ())[kind][name]
            self._plugins[(kind, name)] = self.app.registry.create(kind, name, options, self.app.device())
        return self._plugins[(kind, name)]
