"""Several people swapped at once, each by their own model (``merge --map alice=a --map bob=b``).

Each model has its own Merger (its resolution, coverage and landmark smoothing). A frame's
faces go to the merger of the model their person is mapped to, and the mergers paste one
after the other onto the frame; each crop is still cut from the original frame. Faces of
people no model is mapped to are not touched, so a frame without a mapped face passes
through pixel for pixel.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from faceswap.errors import InputError
from faceswap.faceset.schema import FaceRecord
from faceswap.merge.outputs import watermark
from faceswap.merge.pipeline import Merger, MergeSettings
from faceswap.types import Frame

FaceKey = tuple[int, int]       # (frame index, face index)


@dataclass
class MultiJob:
    """One frame and, per model, the merger's job for the faces that model swaps."""

    frame: Frame
    parts: list[tuple[Merger, object]]

    @property
    def records(self) -> list[FaceRecord]:
        return [record for _, part in self.parts for record in part.records]    # type: ignore[attr-defined]


class MultiMerger:
    """Routes each face to the Merger of its model; same interface as Merger for ``merge()``."""

    def __init__(self, mergers: Mapping[str, Merger], routes: Mapping[FaceKey, str], settings: MergeSettings) -> None:
        self.mergers = dict(mergers)
        self.routes = dict(routes)
        self.settings = settings        # batch and watermark apply to the whole frame

    def infer(self, frames: Sequence[Frame], faces: dict[int, list[FaceRecord]]) -> list[MultiJob]:
        jobs = [MultiJob(frame, []) for frame in frames]
        for model, merger in self.mergers.items():
            mine = {frame.index: [r for r in faces.get(frame.index, [])
                                  if self.routes.get((r.frame_index, r.face_index)) == model] for frame in frames}
            for job, part in zip(jobs, merger.infer(frames, mine)):
                job.parts.append((merger, part))
        return jobs

    def finish(self, job: MultiJob) -> tuple[Frame, np.ndarray, int]:
        image, count = job.frame.image, 0
        for merger, part in job.parts:
            part.frame = dataclasses.replace(part.frame, image=image)    # type: ignore[attr-defined]
            _, image, swapped = merger.finish(part)     # type: ignore[arg-type]
            count += swapped
        if self.settings.watermark:
            image = watermark(image)
        return job.frame, image, count

    def merge_chunk(self, frames: Sequence[Frame], faces: dict[int, list[FaceRecord]]) -> list[tuple[Frame, np.ndarray, int]]:
        return [self.finish(job) for job in self.infer(frames, faces)]


def parse_map(pairs: Sequence[str]) -> dict[str, str]:
    """``("alice=model_a", "bob=model_b")`` -> {"alice": "model_a", "bob": "model_b"}."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        person, sep, model = pair.partition("=")
        person, model = person.strip(), model.strip()
        if not sep or not person or not model:
            raise InputError(f"--map {pair}: write PERSON=MODEL, e.g. --map alice=sae_alice")
        if person in mapping:
            raise InputError(f"--map names {person} twice ({mapping[person]} and {model}): give each person one model")
        mapping[person] = model
    return mapping
