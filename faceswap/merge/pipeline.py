"""frame -> faces -> model -> colour -> warp back -> blend -> output.

Faces come from the destination's face set (a deleted face file is simply not swapped); the
caller picks which (``--ref``, ``--map``: whole tracks of a person, faceswap/people/selection.py).
Decoding runs in a prefetch thread, the model in batches here, and encoding in ffmpeg
fed by a writer thread, so the three overlap. Each face is warped back and blended only
inside its own bounding box, so the rest of the frame is never touched.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from faceswap.align.template import face_matrix
from faceswap.align.warp import warp_to_face
from faceswap.faceset.schema import FaceRecord
from faceswap.faceset.store import FaceSet
from faceswap.media.video import FrameSource
from faceswap.merge.masks import combine_masks, extracted_mask, parse_mask_mode, shape_mask
from faceswap.merge.outputs import watermark
from faceswap.merge.sharpen import DEFAULT_AMOUNT as DEFAULT_SHARPEN
from faceswap.merge.sharpen import sharpen_face
from faceswap.merge.smoothing import LandmarkSmoother, SmoothingConfig
from faceswap.merge.swapper import FaceSwapper
from faceswap.runtime.concurrency import BackgroundWorker
from faceswap.runtime.progress import NoProgress, Progress
from faceswap.types import Frame


@dataclass(frozen=True)
class MergeSettings:
    mask: str = "intersect"         # predicted | extracted | intersect | a stored mask's NAME [+predicted]
    erode: float = 0.0              # fraction of the crop; negative dilates
    blur: float = 0.04              # feather, fraction of the crop
    sharpen: float = DEFAULT_SHARPEN    # unsharp-mask amount on the swapped face (0: off)
    smooth: bool = True             # One Euro filter on landmarks over time
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    watermark: bool = False
    batch: int = 8                  # frames per model batch


@dataclass(frozen=True)
class MergeSummary:
    frames: int
    faces_swapped: int
    seconds: float


class Output(Protocol):
    def write(self, index: int, frame: np.ndarray) -> None: ...

    def close(self) -> Any: ...

    def abort(self) -> None: ...


def faces_by_frame(faceset: FaceSet) -> dict[int, list[FaceRecord]]:
    """The face set's records grouped by frame index (metadata only, no pixels)."""
    index: dict[int, list[FaceRecord]] = {}
    for _, record in faceset.records():
        index.setdefault(record.frame_index, []).append(record)
    for records in index.values():
        records.sort(key=lambda r: r.face_index)
    return index


@dataclass
class _Job:
    frame: Frame
    records: list[FaceRecord]
    matrices: list[np.ndarray]
    crops: list[np.ndarray]
    swapped: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)


class Merger:
    """Swaps the faces of frames with one model and one colour/blend plugin pair."""

    def __init__(self, swapper: FaceSwapper, color: Any, blender: Any, settings: MergeSettings, fps: float) -> None:
        self.swapper, self.color, self.blender = swapper, color, blender
        self.settings = settings
        self.smoother = LandmarkSmoother(settings.smoothing, fps) if settings.smooth else None
        self.mask_mode = parse_mask_mode(settings.mask)

    def merge_chunk(self, frames: Sequence[Frame], faces: dict[int, list[FaceRecord]]) -> list[tuple[Frame, np.ndarray, int]]:
        """(frame, merged image, faces swapped) for consecutive frames, model run once for all faces."""
        return [self.finish(job) for job in self.infer(frames, faces)]

    def infer(self, frames: Sequence[Frame], faces: dict[int, list[FaceRecord]]) -> list[_Job]:
        """Crop every face of the frames and run the model once over all of them (in order: smoothing)."""
        jobs = [self._prepare(frame, faces.get(frame.index, [])) for frame in frames]
        crops = [crop for job in jobs for crop in job.crops]
        if crops:
            rgb, masks = self.swapper.swap(np.stack(crops))
            k = 0
            for job in jobs:
                n = len(job.crops)
                job.swapped, job.masks = list(rgb[k:k + n]), list(masks[k:k + n])
                k += n
        return jobs

    def finish(self, job: _Job) -> tuple[Frame, np.ndarray, int]:
        """Colour-match, warp back and blend the swapped faces of one frame (thread-safe per job)."""
        image = job.frame.image
        for record, matrix, crop, rgb, mask in zip(job.records, job.matrices, job.crops, job.swapped, job.masks):
            image = self._paste(image, record, matrix, rgb, mask, crop)
        if self.settings.watermark:
            image = watermark(image)
        return job.frame, image, len(job.records)

    def _prepare(self, frame: Frame, records: list[FaceRecord]) -> _Job:
        points = [r.landmarks for r in records]
        if self.smoother is not None:
            points = self.smoother.smooth(points)
        res, coverage = self.swapper.resolution, self.swapper.coverage
        matrices = [face_matrix(p, res, coverage) for p in points]
        crops = [warp_to_face(frame.image, m, res) for m in matrices]
        return _Job(frame, records, matrices, crops)

    def _paste(self, image: np.ndarray, record: FaceRecord, matrix: np.ndarray,
               rgb: np.ndarray, predicted: np.ndarray, crop: np.ndarray) -> np.ndarray:
        settings = self.settings
        res = self.swapper.resolution
        mode = self.mask_mode
        stored = extracted_mask(record, res, self.swapper.coverage, mode.stored) if mode.stored is not None else None
        mask = shape_mask(combine_masks(predicted, stored, mode), settings.erode, settings.blur)
        face = sharpen_face(self.color.transfer(rgb, crop.astype(np.float32) / 255.0, mask), settings.sharpen)
        face = np.clip(face * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return paste_face(image, face, mask, matrix, self.blender)


def paste_face(image: np.ndarray, face: np.ndarray, mask: np.ndarray, matrix: np.ndarray, blender: Any) -> np.ndarray:
    """Warp ``face`` and ``mask`` (crop pixels) back through ``matrix`` and blend them into
    ``image``, working only in the box the mask covers (plus a margin)."""
    height, width = image.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    ys, xs = np.nonzero(mask > 1e-3)
    if len(xs) == 0:
        return image
    corners = np.stack([[xs.min(), ys.min()], [xs.max() + 1, ys.min()], [xs.min(), ys.max() + 1],
                        [xs.max() + 1, ys.max() + 1]]).astype(np.float64)
    frame_corners = corners @ inverse[:, :2].T + inverse[:, 2]
    margin = 4
    x0, y0 = np.floor(frame_corners.min(0)).astype(int) - margin
    x1, y1 = np.ceil(frame_corners.max(0)).astype(int) + margin
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        return image
    roi_matrix = matrix.copy()
    roi_matrix[:, 2] += matrix[:, :2] @ np.array([x0, y0], np.float64)   # ROI pixel -> crop pixel
    size = (x1 - x0, y1 - y0)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    # the face is usually enlarged several times: cubic keeps more of its detail than bilinear
    # (benchmarks/sharpness_ceiling.py: 0.31 vs 0.28 of the real face's sharpness at 64 px)
    warped_face = cv2.warpAffine(face, roi_matrix, size, flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE)
    warped_mask = cv2.warpAffine(mask, roi_matrix, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    out = image.copy()
    out[y0:y1, x0:x1] = blender.blend(image[y0:y1, x0:x1], warped_face, warped_mask)
    return out


WrittenFrame = Callable[[Frame, np.ndarray, list[FaceRecord]], None]


class FrameMerger(Protocol):
    """What ``merge()`` needs: a Merger, or a MultiMerger (merge/multi.py) of one per person."""

    settings: MergeSettings

    def infer(self, frames: Sequence[Frame], faces: dict[int, list[FaceRecord]]) -> list[Any]: ...

    def finish(self, job: Any) -> tuple[Frame, np.ndarray, int]: ...


def merge(source: FrameSource, faces: dict[int, list[FaceRecord]], merger: FrameMerger, output: Output,
          progress: Progress | None = None, on_written: WrittenFrame | None = None) -> MergeSummary:
    """Merge every frame of ``source`` into ``output``; frames without a face pass untouched.

    Three stages overlap: decoding (prefetch thread), cropping + the model (here), and
    colour, blending and writing to the encoder (writer thread, frames in order).
    ``on_written(frame, merged image, swapped face records)`` sees every frame once written
    (the quality report listens there); it runs in the writer thread and must be quick.
    """
    progress = progress if progress is not None else NoProgress()
    started = time.perf_counter()
    counts = {"frames": 0, "faces": 0}

    def finish_and_write(job: Any) -> None:
        frame, image, swapped = merger.finish(job)
        output.write(frame.index, image)
        if on_written is not None:
            on_written(frame, image, job.records)
        counts["frames"] += 1
        counts["faces"] += swapped

    writer: BackgroundWorker = BackgroundWorker(finish_and_write, depth=16)
    try:
        for chunk in _chunks(source.frames(), merger.settings.batch):
            for job in merger.infer(chunk, faces):
                writer.submit(job)
            progress.update(len(chunk))
        writer.close()
    except BaseException:
        try:
            writer.close()
        finally:
            output.abort()
        raise
    output.close()
    return MergeSummary(counts["frames"], counts["faces"], time.perf_counter() - started)


def _chunks(frames: Iterator[Frame], size: int) -> Iterator[list[Frame]]:
    chunk: list[Frame] = []
    for frame in frames:
        chunk.append(frame)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
