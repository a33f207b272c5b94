"""``faceswap mask apply``: run a masker over every face of a face set and store its mask by name."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from faceswap.align.umeyama import apply
from faceswap.errors import FaceSetError
from faceswap.faceset.schema import Producer
from faceswap.faceset.store import FaceSet
from faceswap.locking import exclusive_lock
from faceswap.runtime.progress import NoProgress, Progress
from faceswap.segment.rewrite import chunks, read_raw, write_record


@dataclass(frozen=True)
class ApplySummary:
    faces: int
    seconds: float


def apply_masker(faceset: FaceSet, masker, producer: Producer, stored_name: str, *, batch: int = 64,
                 progress: Progress | None = None) -> ApplySummary:
    """Store ``masker``'s mask as ``stored_name`` in every face of ``faceset`` (replacing one of that
    name), holding the set's lock. The face pixels are not re-encoded."""
    progress = progress if progress is not None else NoProgress()
    started = time.perf_counter()
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        paths = faceset.face_paths()
        if not paths:
            raise FaceSetError(f"face set {faceset.folder} holds no faces (run faceswap extract first)")
        for group in chunks(paths, batch):
            faces = [read_raw(path) for path in group]
            for size in sorted({record.size for _, _, record in faces}):     # one size per set, normally
                same = [(path, face) for path, face in zip(group, faces) if face[2].size == size]
                _mask_batch(same, masker, producer, stored_name)
            progress.update(len(group))
    return ApplySummary(len(paths), time.perf_counter() - started)


def _mask_batch(faces, masker, producer: Producer, stored_name: str) -> None:
    images = np.stack([image for _, (_, image, _) in faces])
    points = np.stack([apply(record.matrix, record.landmarks).astype(np.float32) for _, (_, _, record) in faces])
    masks = masker.mask(images, points)
    for (path, (raw, _, record)), mask in zip(faces, masks):
        producers = tuple(p for p in record.producers if not (p.kind == "masker" and p.name == producer.name))
        updated = dataclasses.replace(record, masks={**record.masks, stored_name: np.round(mask * 255).astype(np.uint8)},
                                      producers=(*producers, producer))
        write_record(path, raw, updated)
