"""Score a swap: two videos (or image folders) read side by side, or frames handed over by merge.

The faces scored are those of the destination face set (the faces that were to be
swapped): their boxes tell the landmarker where to look in both frames.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from faceswap.errors import FaceSetError, InputError
from faceswap.faceset.schema import FaceRecord
from faceswap.faceset.store import FaceSet
from faceswap.media.video import FrameSource
from faceswap.registry import Registry
from faceswap.runtime.concurrency import BackgroundWorker
from faceswap.runtime.device import Device
from faceswap.runtime.progress import NoProgress, Progress
from faceswap.score.collect import ScoreCollector, Sampling
from faceswap.score.identity import ScoreEmbedder, unit_mean
from faceswap.score.references import faceset_identity, workspace_identities
from faceswap.score.report import ScoreContext, ScoreReport, build_report, write_report
from faceswap.score.scorer import FaceScore, FramePair, IdentityReferences, RunScorer, attach_identity
from faceswap.types import Frame
from faceswap.workspace import Workspace

# The landmarker of the instrument is fixed, so scores stay comparable whatever a user extracts with.
SCORE_LANDMARKER = "2d106"
NEIGHBOUR_FRAMES = 2        # a frame without a record borrows the boxes of one this close


@dataclass(frozen=True)
class ScoreTools:
    landmarker: Any
    embedder: ScoreEmbedder


def build_tools(registry: Registry, device: Device) -> ScoreTools:
    return ScoreTools(registry.create("landmarker", SCORE_LANDMARKER, {}, device), ScoreEmbedder())


def identity_references(workspace: Workspace, tools: ScoreTools, source_sets: Sequence[str],
                        destination: FaceSet, progress: Progress | None = None) -> IdentityReferences:
    """Mean identities of the source sets, the destination set and every set of the workspace."""
    check_source_sets(workspace, source_sets)
    sets = workspace_identities(workspace, tools.embedder, progress)
    cache = workspace.cache / "score"
    for name in source_sets:
        sets.setdefault(name, faceset_identity(FaceSet(workspace.faceset_dir(name)), tools.embedder, cache))
    dest = sets.get(destination.folder.name)
    if dest is None:
        dest = faceset_identity(destination, tools.embedder, cache)
    source = unit_mean(np.stack([sets[name] for name in source_sets]))
    return IdentityReferences(source, dest, sets, tuple(source_sets))


def check_source_sets(workspace: Workspace, names: Sequence[str]) -> None:
    """One-line FaceSetError for a source face set that does not exist (before any work)."""
    for name in names:
        if not FaceSet(workspace.faceset_dir(name)).exists():
            raise FaceSetError(f"no face set '{name}' in {workspace.facesets}: extract the source person's video "
                               f"first, or name the source face set with --src")


def boxes_by_frame(faceset: FaceSet) -> dict[int, tuple[np.ndarray, ...]]:
    """Face boxes of every frame of the set, largest face first."""
    boxes: dict[int, list[tuple[int, np.ndarray]]] = {}
    for _, record in faceset.records():
        boxes.setdefault(record.frame_index, []).append((record.face_index, record.box))
    return {frame: tuple(box for _, box in sorted(found, key=lambda x: x[0])) for frame, found in boxes.items()}


def boxes_near(boxes: dict[int, tuple[np.ndarray, ...]], index: int) -> tuple[np.ndarray, ...]:
    """The boxes of frame ``index``, or of the nearest frame within NEIGHBOUR_FRAMES."""
    for offset in range(NEIGHBOUR_FRAMES + 1):
        for frame in (index - offset, index + offset):
            if frame in boxes:
                return boxes[frame]
    return ()


def score_sources(original: FrameSource, swapped: FrameSource, boxes: dict[int, tuple[np.ndarray, ...]],
                  scorer: RunScorer, sampling: Sampling, progress: Progress | None = None) -> list[FaceScore]:
    """Read the sampled frames of both sources side by side and score them."""
    check_comparable(original, swapped)
    progress = progress if progress is not None else NoProgress()
    collector = ScoreCollector(scorer, sampling)
    pairs = zip(original.frames(every=sampling.every, run=sampling.length),
                swapped.frames(every=sampling.every, run=sampling.length))
    for before, after in pairs:
        collector.add(FramePair(before.index, before.image, after.image, boxes_near(boxes, before.index)))
        progress.update(1)
    return collector.finish()


def check_comparable(original: FrameSource, swapped: FrameSource) -> None:
    """One-line InputError unless both hold the same number of frames of the same size."""
    a, b = original.info, swapped.info
    if a.frame_count != b.frame_count:
        raise InputError(f"{a.path} has {a.frame_count} frames but {b.path} has {b.frame_count}: "
                         f"score compares a swap with the video it was made from, frame by frame")
    if (a.width, a.height) != (b.width, b.height):
        raise InputError(f"{a.path} is {a.width}x{a.height} but {b.path} is {b.width}x{b.height}: "
                         f"score needs frames of the same size")


class LiveScoring:
    """Scores frames while merge writes them, in a thread of its own.

    A side job: if scoring fails, it stops quietly and ``finish`` re-raises the error, so
    the video being written is never lost to a problem of its report.
    """

    def __init__(self, scorer: RunScorer, sampling: Sampling) -> None:
        self.collector = ScoreCollector(scorer, sampling)
        self.error: BaseException | None = None
        self._worker: BackgroundWorker[FramePair] = BackgroundWorker(self._add, depth=8)

    def offer(self, index: int, original: np.ndarray, swapped: np.ndarray, boxes: Sequence[np.ndarray]) -> None:
        """Hand over one written frame; frames the sampling does not want cost nothing."""
        if self.error is None and self.collector.sampling.wants(index):
            self._worker.submit(FramePair(index, original, swapped, tuple(boxes)))

    def written(self, frame: Frame, merged: np.ndarray, records: Sequence[FaceRecord]) -> None:
        """merge's ``on_written`` callback."""
        self.offer(frame.index, frame.image, merged, [r.box for r in records])

    def finish(self) -> list[FaceScore]:
        self._worker.close()
        if self.error is not None:
            raise self.error
        return self.collector.finish()

    def _add(self, pair: FramePair) -> None:
        if self.error is None:
            try:
                self.collector.add(pair)
            except Exception as exc:  # reported by finish(), never into the merge
                self.error = exc


def finish_report(workspace: Workspace, tools: ScoreTools, faces: list[FaceScore], context: ScoreContext,
                  destination: FaceSet, folder: Path) -> tuple[ScoreReport, Path]:
    """Attach identities (when the source face sets are still there), build and write the report."""
    notes = dict(context.extra)
    try:
        attach_identity(faces, identity_references(workspace, tools, context.source_sets, destination))
    except FaceSetError as exc:
        notes["identity"] = f"not measured: {exc}"
    report = build_report(replace(context, extra=notes), faces)
    return report, write_report(report, folder)


def report_folder(output: Path) -> Path:
    """Where merge puts the report of ``output``: ``<output without suffix>.report/``."""
    return output.with_name(output.stem + ".report") if output.suffix else output.with_name(output.name + ".report")
