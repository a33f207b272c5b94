"""frames -> detect -> landmarks -> align -> mask -> identity -> FaceSet.

Decoding runs in a prefetch thread and PNG encoding + file writes in a writer
thread, so the networks (batched here, in the calling thread) never wait on I/O.
The manifest's resume mark moves through the same writer queue, after the faces
of the frames it covers, so a kill at any moment leaves a consistent face set.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from faceswap.align.warp import align_face, points_to_face
from faceswap.errors import NoFaceError
from faceswap.extract.plugins import ExtractPlugins
from faceswap.extract.reference import ReferenceFilter
from faceswap.faceset.schema import FaceRecord
from faceswap.faceset.store import FaceSet, FaceSetManifest, file_sha256
from faceswap.media.video import FrameSource, open_source
from faceswap.runtime.concurrency import BackgroundWorker
from faceswap.runtime.progress import NoProgress, Progress
from faceswap.types import Detection, Frame, Landmarks


@dataclass(frozen=True)
class ExtractSettings:
    """What changes which faces are written (stored in the manifest, checked on resume)."""

    every: int = 1              # use every Nth frame
    max_faces: int = 0          # keep at most this many faces per frame, largest first; 0 = all
    min_size: int = 32          # ignore faces whose box is smaller (pixels)
    face_size: int = 256        # side of the stored aligned face
    coverage: float = 2.2       # template units the stored crop shows (see align/template.py)
    ref_threshold: float = 0.35  # identity cosine a face needs to match --ref
    ref_sha256: str = ""        # which --ref photo was used, if any


@dataclass(frozen=True)
class ExtractSummary:
    """What one run did."""

    frames_read: int
    faces_written: int
    frames_without_face: int
    seconds: float
    resumed_from: int
    faceset_faces: int


@dataclass
class _Counters:
    frames: int = 0
    faces: int = 0
    empty: int = 0


def extract(
    source_path: Path,
    faceset: FaceSet,
    plugins: ExtractPlugins,
    settings: ExtractSettings = ExtractSettings(),
    *,
    reference: ReferenceFilter | None = None,
    batch_size: int = 4,
    progress: Progress | None = None,
) -> ExtractSummary:
    """Extract every face of ``source_path`` into ``faceset``, resuming a killed run."""
    progress = progress or NoProgress()
    started = time.perf_counter()
    source = open_source(source_path)
    manifest = faceset.start(_manifest(source, settings, plugins))
    resumed_from = manifest.frames_done
    counters = _Counters()
    writer: BackgroundWorker = BackgroundWorker(lambda job: job(), depth=64)
    try:
        for batch in _batches(source.frames(start=manifest.frames_done, every=settings.every), batch_size):
            faces = _process(batch, plugins, settings, reference, source.info.path.name)
            for face_image, record in faces:
                writer.submit(lambda img=face_image, rec=record: faceset.write_face(img, rec))
            done = batch[-1].index + 1
            manifest = replace(manifest, frames_done=done)
            writer.submit(lambda m=manifest: faceset.write_manifest(m))
            with_face = {rec.frame_index for _, rec in faces}
            counters.frames += len(batch)
            counters.faces += len(faces)
            counters.empty += len(batch) - len(with_face)
            progress.update(len(batch))
            progress.set_postfix(faces=counters.faces, refresh=False)
        writer.submit(lambda m=replace(manifest, frames_done=source.info.frame_count, complete=True):
                      faceset.write_manifest(m))
    finally:
        writer.close()
    total_faces = len(faceset)
    if total_faces == 0:
        faceset.remove_if_empty()
        what = "matching --ref " if reference else ""
        raise NoFaceError(f"no face {what}found in any of the {counters.frames} frames of {source_path}")
    return ExtractSummary(counters.frames, counters.faces, counters.empty,
                          time.perf_counter() - started, resumed_from, total_faces)


def _process(
    batch: list[Frame], plugins: ExtractPlugins, settings: ExtractSettings,
    reference: ReferenceFilter | None, source_name: str,
) -> list[tuple[np.ndarray, FaceRecord]]:
    images = [frame.image for frame in batch]
    detections = [_select(dets, settings) for dets in plugins.detector.detect(images)]
    landmarks = plugins.landmarker.landmarks(images, detections)
    flat = [(f, d, lm) for f, dets, lms in zip(batch, detections, landmarks) for d, lm in zip(dets, lms)]
    if not flat:
        return []
    identities = plugins.identity.embed([f.image for f, _, _ in flat], [lm for _, _, lm in flat]) \
        if plugins.identity is not None else [None] * len(flat)
    if reference is not None:
        keep = reference.matches(identities)
        flat = [item for item, ok in zip(flat, keep) if ok]
        identities = [v for v, ok in zip(identities, keep) if ok]
        if not flat:
            return []
    aligned = [align_face(f.image, lm, settings.face_size, settings.coverage) for f, _, lm in flat]
    face_points = np.stack([points_to_face(lm.points, a.matrix) for (_, _, lm), a in zip(flat, aligned)])
    masks = plugins.mask(np.stack([a.image for a in aligned]), face_points)
    results, face_index = [], {}
    for (frame, det, lm), face, mask_set, identity in zip(flat, aligned, masks, identities):
        index = face_index[frame.index] = face_index.get(frame.index, -1) + 1
        record = _record(frame, det, lm, face, mask_set, identity, index, plugins, source_name)
        results.append((face.image, record))
    return results


def _select(detections: list[Detection], settings: ExtractSettings) -> list[Detection]:
    """Drop small faces; keep the ``max_faces`` largest."""
    kept = sorted((d for d in detections if d.size >= settings.min_size), key=lambda d: -d.size)
    return kept[: settings.max_faces] if settings.max_faces > 0 else kept


def _record(frame: Frame, det: Detection, lm: Landmarks, face, masks: dict[str, np.ndarray],
            identity: np.ndarray | None, face_index: int, plugins: ExtractPlugins, source_name: str) -> FaceRecord:
    height, width = frame.image.shape[:2]
    return FaceRecord(
        source=source_name, frame_index=frame.index, pts=frame.pts, frame_size=(width, height),
        frame_name=frame.name, face_index=face_index, box=det.box, detection_score=det.score,
        keypoints=det.keypoints, landmarks=lm.points, landmark_score=lm.score, matrix=face.matrix,
        size=face.size, coverage=face.coverage,
        masks={name: np.round(m * 255).astype(np.uint8) for name, m in masks.items()},
        identity=identity, producers=plugins.producers,
    )


def _batches(frames: Iterator[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _manifest(source: FrameSource, settings: ExtractSettings, plugins: ExtractPlugins) -> FaceSetManifest:
    info = source.info
    size, digest = _fingerprint(info.path)
    return FaceSetManifest(
        source_name=info.path.name, source_size=size, source_sha256=digest,
        fps=str(Fraction(info.fps)), frame_count=info.frame_count, width=info.width, height=info.height,
        face_size=settings.face_size, coverage=settings.coverage,
        settings={k: v for k, v in vars(settings).items()},
        plugins=[vars(p) for p in plugins.producers],
    )


def _fingerprint(path: Path) -> tuple[int, str]:
    """(size, sha256) of a video, or of an image folder's file names and sizes."""
    if path.is_dir():
        listing = sorted((p.name, p.stat().st_size) for p in path.iterdir() if p.is_file())
        return sum(s for _, s in listing), hashlib.sha256(repr(listing).encode()).hexdigest()
    return path.stat().st_size, file_sha256(path)
