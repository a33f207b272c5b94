"""frames -> detect -> landmarks -> align -> mask -> identity -> FaceSet.

Decoding runs in a prefetch thread and PNG encoding + file writes in a writer
thread, so the networks (in the calling thread) never wait on I/O. The detector runs
on the first frame of each window of ``redetect_every`` frames (and after a cut); faces are
followed by their landmarks in between (extract/tracking.py), and every face is linked to the
track of the same person in the frames before it (extract/linking.py).
The manifest's resume mark moves through the same writer queue, after the faces
of the frames it covers, so a kill at any moment leaves a consistent face set.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from faceswap.align.warp import align_face, points_to_face
from faceswap.errors import NoFaceError
from faceswap.extract.linking import TrackLinker
from faceswap.extract.plugins import ExtractPlugins
from faceswap.extract.reference import ReferenceFilter
from faceswap.extract.tracking import FaceFinder, FoundFace
from faceswap.faceset.schema import FaceRecord
from faceswap.faceset.store import FaceSet, FaceSetManifest
from faceswap.hashing import file_sha256
from faceswap.locking import exclusive_lock
from faceswap.media.video import FrameSource, open_source
from faceswap.runtime.concurrency import BackgroundWorker
from faceswap.runtime.progress import NoProgress, Progress
from faceswap.types import AlignedFace, Frame

log = logging.getLogger(__name__)

TRACKING_STATE = "tracking"     # manifest.extra key: the track linker's state at the resume mark

@dataclass(frozen=True)
class ExtractSettings:
    """What changes which faces are written (stored in the manifest, checked on resume)."""

    every: int = 1              # use every Nth frame
    max_faces: int = 0          # keep at most this many faces per frame, largest first; 0 = all
    min_size: int = 32          # ignore faces whose box is smaller (pixels)
    face_size: int = 256        # side of the stored aligned face
    coverage: float = 2.2       # template units the stored crop shows (see align/template.py)
    redetect_every: int = 5     # run the detector on every Nth used frame, track in between
    ref_threshold: float = 0.35  # identity cosine a face needs to match --ref
    ref_sha256: str = ""        # which --ref photo (or --person identity) was used, if any


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
    progress: Progress | None = None,
    fresh: bool = False,
) -> ExtractSummary:
    """Extract every face of ``source_path`` into ``faceset``, resuming a killed run.

    Holds the face set's lock throughout, so a second writer is refused (WorkspaceError)
    instead of mixing its faces in; ``fresh`` empties the set first.
    """
    progress = progress if progress is not None else NoProgress()
    started = time.perf_counter()
    source = open_source(source_path)
    counters = _Counters()
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        if fresh:
            faceset.clear()
        try:
            manifest = faceset.start(_manifest(source, settings, plugins))
            resumed_from = manifest.frames_done
            if not manifest.complete:
                manifest = _extract_frames(source, faceset, manifest, plugins, settings, reference, progress, counters)
                _finish(source, faceset, manifest)
        except BaseException:
            faceset.remove_if_empty()       # a failed first run must not leave a set that blocks the next
            raise
        total_faces = len(faceset)
        if total_faces == 0:
            faceset.remove_if_empty()
            what = "matching --ref " if reference else ""
            raise NoFaceError(f"no face {what}found in any of the {counters.frames} frames of {source_path}")
    return ExtractSummary(counters.frames, counters.faces, counters.empty,
                          time.perf_counter() - started, resumed_from, total_faces)


def _extract_frames(source: FrameSource, faceset: FaceSet, manifest: FaceSetManifest, plugins: ExtractPlugins,
                    settings: ExtractSettings, reference: ReferenceFilter | None, progress: Progress,
                    counters: _Counters) -> FaceSetManifest:
    """Process every frame from the resume mark on; returns the last manifest written."""
    finder = FaceFinder(plugins, settings.min_size, settings.max_faces)
    linker = TrackLinker(manifest.extra.get(TRACKING_STATE))
    writer: BackgroundWorker = BackgroundWorker(lambda job: job(), depth=64)
    faces_done = manifest.faces_done or 0
    unreadable_before = source.unreadable
    # A window starts with a detection and is the unit of the resume mark, so a resumed
    # run makes exactly the faces an uninterrupted one would.
    window = max(1, settings.redetect_every)
    try:
        for batch in _batches(source.frames(start=manifest.frames_done, every=settings.every), window):
            finder.reset()
            faces = _process(batch, finder, linker, plugins, settings, reference, source.info.path.name)
            for face_image, record in faces:
                writer.submit(lambda img=face_image, rec=record: faceset.write_face(img, rec))
            faces_done += len(faces)
            manifest = replace(manifest, frames_done=batch[-1].index + 1, faces_done=faces_done,
                               unreadable=manifest.unreadable + source.unreadable - unreadable_before,
                               extra={**manifest.extra, TRACKING_STATE: linker.state()})
            unreadable_before = source.unreadable
            writer.submit(lambda m=manifest: faceset.write_manifest(m))
            with_face = {rec.frame_index for _, rec in faces}
            counters.frames += len(batch)
            counters.faces += len(faces)
            counters.empty += len(batch) - len(with_face)
            progress.update(len(batch))
            progress.set_postfix(faces=counters.faces, refresh=False)
    finally:
        writer.close()
    unreadable = manifest.unreadable + source.unreadable - unreadable_before
    return replace(manifest, unreadable=unreadable)


def _finish(source: FrameSource, faceset: FaceSet, manifest: FaceSetManifest) -> None:
    """Mark the set complete, unless part of the source could not be read (then say so)."""
    info = source.info
    if info.damage or manifest.unreadable:
        what = "images" if info.codec == "images" else "frames"
        why = info.damage or f"{manifest.unreadable} of its {what} could not be read"
        faceset.write_manifest(manifest)
        log.warning("%s is %s (%s): face set %s holds the faces of the %s that could be read and is not marked "
                    "complete", info.path, "incomplete" if what == "images" else "truncated or damaged", why,
                    faceset.folder, what)
        return
    faceset.mark_complete(replace(manifest, frames_done=info.frame_count))


def _process(
    batch: list[Frame], finder: FaceFinder, linker: TrackLinker, plugins: ExtractPlugins,
    settings: ExtractSettings, reference: ReferenceFilter | None, source_name: str,
) -> list[tuple[np.ndarray, FaceRecord]]:
    found = _find_and_link(batch, finder, linker)
    if reference is not None:       # whole tracks: a face counts as its track's person
        keep = reference.matches([linker.identity(track) for _, _, track in found])
        found = [item for item, ok in zip(found, keep) if ok]
    linker.forget_ended()
    if not found:
        return []
    aligned = [align_face(frame.image, face.landmarks, settings.face_size, settings.coverage)
               for frame, face, _ in found]
    face_points = np.stack([points_to_face(face.landmarks.points, a.matrix)
                            for (_, face, _), a in zip(found, aligned)])
    masks = plugins.mask(np.stack([a.image for a in aligned]), face_points)
    results, face_index = [], {}
    for (frame, face, track), crop, mask_set in zip(found, aligned, masks):
        index = face_index[frame.index] = face_index.get(frame.index, -1) + 1
        results.append((crop.image, _record(frame, face, crop, mask_set, index, track, plugins, source_name)))
    return results


def _find_and_link(batch: list[Frame], finder: FaceFinder, linker: TrackLinker) -> list[tuple[Frame, FoundFace, int]]:
    """(frame, face, track id) of every face of the batch, frame by frame."""
    found = []
    for frame in batch:
        if linker.new_frame(frame.image):
            finder.reset()      # a cut: detect afresh instead of following landmarks into the new shot
        faces = finder.find(frame.image)
        tracks = linker.link([face.detection.box for face in faces], [face.embedding for face in faces])
        found += [(frame, face, track) for face, track in zip(faces, tracks)]
    return found


def _record(frame: Frame, face: FoundFace, crop: AlignedFace, masks: dict[str, np.ndarray],
            face_index: int, track: int, plugins: ExtractPlugins, source_name: str) -> FaceRecord:
    height, width = frame.image.shape[:2]
    det, lm = face.detection, face.landmarks
    return FaceRecord(
        source=source_name, frame_index=frame.index, pts=frame.pts, frame_size=(width, height),
        frame_name=frame.name, face_index=face_index, box=det.box, detection_score=det.score,
        keypoints=det.keypoints, landmarks=lm.points, landmark_score=lm.score, matrix=crop.matrix,
        size=crop.size, coverage=crop.coverage,
        masks={name: np.round(m * 255).astype(np.uint8) for name, m in masks.items()},
        embedding=face.embedding, producers=plugins.producers, track=track,
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
