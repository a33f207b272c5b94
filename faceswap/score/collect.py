"""Which frames the score looks at, and the collector that groups them into runs.

Both the standalone ``faceswap score`` (reading two videos) and merge (handing over the
frames it writes) feed frame pairs to a ScoreCollector; only the sampled ones are kept.
"""
from __future__ import annotations

from dataclasses import dataclass

from faceswap.score.scorer import FaceScore, FramePair, RunScorer

RUN = 3     # consecutive frames per sample: enough for a second difference (stability)


def default_every(fps: float) -> int:
    """One run of frames per second of video (every 10th image of a folder)."""
    return max(RUN, round(fps)) if fps else 10


@dataclass(frozen=True)
class Sampling:
    """Runs of ``run`` consecutive frames starting at every multiple of ``every``."""

    every: int
    run: int = RUN

    @property
    def length(self) -> int:
        return max(1, min(self.run, self.every))

    def wants(self, index: int) -> bool:
        return index % self.every < self.length


class ScoreCollector:
    """Keeps the sampled frame pairs of the current run and scores each run once complete."""

    def __init__(self, scorer: RunScorer, sampling: Sampling) -> None:
        self.scorer = scorer
        self.sampling = sampling
        self.faces: list[FaceScore] = []
        self.runs = 0
        self._run: list[FramePair] = []

    def add(self, pair: FramePair) -> None:
        """Offer one frame pair (frames not sampled are ignored)."""
        if not self.sampling.wants(pair.index):
            return
        if self._run and (pair.index != self._run[-1].index + 1 or pair.index % self.sampling.every == 0):
            self._flush()
        if not self._run and not pair.boxes:
            return          # a run starts on a frame with faces to score
        self._run.append(pair)
        if len(self._run) == self.sampling.length:
            self._flush()

    def finish(self) -> list[FaceScore]:
        self._flush()
        return self.faces

    def _flush(self) -> None:
        if self._run:
            self.faces += self.scorer.score(self._run)
            self.runs += 1
        self._run = []
