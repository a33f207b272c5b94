"""Face sets -> training samples: crop at the model's coverage, augment, random-warp the input.

Sample ``i`` depends only on (seed, i), so a resumed run sees exactly the batches an
uninterrupted one would, whatever the number of loader workers. Faces stream from
disk through a bounded per-worker cache, so face sets larger than memory work.
"""
from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from faceswap.align.template import MIRROR_68, recrop_matrix
from faceswap.align.umeyama import apply
from faceswap.errors import FaceSetError, FaceswapError
from faceswap.faceset.store import read_face
from faceswap.options import option
from faceswap.train.augment import colour_jitter, jitter_matrix, priority_map, random_warp
from faceswap.train.pose_warp import turn_maps
from faceswap.train.sample_filters import COLOUR_TRANSFERS, LabStats, blur_out_mask, lab_stats, transfer_colour

log = logging.getLogger(__name__)

SIDES = ("src", "dst")
POSE_WARP_AXES = ("both", "pitch", "yaw")


@dataclass(frozen=True)
class SampleConfig:
    """How samples are cut and augmented."""

    resolution: int
    coverage: float
    rotation: float = 10.0      # degrees of random rotation
    scale: float = 0.05         # random zoom, fraction
    shift: float = 0.05         # random shift, fraction of the crop
    flip: bool = True
    warp: float = 0.04          # random-warp strength: offset spread as a fraction of the crop
    colour: float = 0.1         # colour jitter strength
    mask: str | None = None     # stored mask to use; None = the first one
    cache_mb: int = 512         # decoded-face cache per loader worker
    uniform_pose: bool = False  # draw faces evenly over yaw/pitch cells, not evenly over faces (train/pose_balance.py)
    color_transfer: str = option("none", "train-time colour transfer (DeepFaceLab's ct_mode): rct gives each "
                                         "source sample a random destination face's colour statistics (Lab mean "
                                         "and spread inside the masks)", choices=COLOUR_TRANSFERS)
    blur_out_mask: bool = option(False, "blur the background outside the face mask in training samples "
                                        "(DeepFaceLab's blur_out_mask); the face itself is untouched")
    src_flip: bool = option(True, "mirror the source person's faces too when flip is on (DeepFaceLab's "
                                  "random_src_flip, off there by default): off keeps the source's own "
                                  "asymmetry, a parting or a crooked smile, on its side in the swap")
    pose_warp: float = option(0.0, "turn each training face by a random yaw and pitch of up to this many "
                                   "degrees (a depth-guided 2D warp, train/pose_warp.py), so the source "
                                   "decoder learns head turns its clip lacks; 0 is off", min=0.0, max=30.0)
    pose_warp_axes: str = option("both", "which turns pose_warp draws: both, or only pitch or only yaw (a yaw "
                                         "warp also shifts the swap's constant turn)", choices=POSE_WARP_AXES)


@dataclass
class _Face:
    image: np.ndarray           # (S', S', 3) uint8, pre-shrunk towards the model's scale
    mask: np.ndarray            # (S', S') uint8
    points: np.ndarray          # (68, 2) landmarks in the pre-shrunk face's pixels
    size: int
    coverage: float


class FaceCache:
    """Least-recently-used decoded faces, bounded in bytes."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.used = 0
        self._items: OrderedDict[Path, _Face] = OrderedDict()

    def get(self, path: Path, loader) -> _Face:
        face = self._items.get(path)
        if face is not None:
            self._items.move_to_end(path)
            return face
        face = loader(path)
        self._items[path] = face
        self.used += face.image.nbytes + face.mask.nbytes
        while self.used > self.budget and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self.used -= old.image.nbytes + old.mask.nbytes
        return face


class FaceReader:
    """Loads faces through a cache, skipping files that vanished or cannot be read.

    Users curate face sets by deleting files, even while training runs, and a file can be
    damaged: each such file is logged once ("skipped ...") and never tried again.
    """

    def __init__(self, config: SampleConfig) -> None:
        self.config = config
        self.cache = FaceCache(config.cache_mb * 2 ** 20)
        self.skipped: dict[Path, str] = {}

    def load(self, path: Path) -> _Face | None:
        """The face in ``path``, or None when it is gone or unreadable."""
        if path in self.skipped:
            return None
        try:
            return self.cache.get(path, lambda p: load_face(p, self.config))
        except FaceSetError as exc:
            self.skipped[path] = str(exc)
            log.warning("skipped %s", exc)
            return None

    def first_readable(self, paths: Sequence[Path], start: int) -> _Face:
        """The face at ``start``, or the next readable one; FaceSetError naming the sets when none is left."""
        for k in range(len(paths)):
            face = self.load(paths[(start + k) % len(paths)])
            if face is not None:
                return face
        names = ", ".join(sorted({f"'{p.parent.parent.name}'" for p in paths}))
        example = self.skipped.get(paths[0], str(paths[0]))
        raise FaceSetError(f"face set {names} has no readable face left ({example}): extract it again")


class FacePairDataset(Dataset):
    """Item ``i``: one augmented source sample and one destination sample.

    Each side is a dict of float32 CHW arrays: ``input`` (random-warped), ``target``,
    ``mask`` (1, R, R) and ``priority`` (1, R, R, eyes and mouth).
    """

    def __init__(self, src: Sequence[Path], dst: Sequence[Path], config: SampleConfig, seed: int,
                 weights: dict[str, np.ndarray] | None = None) -> None:
        if not src or not dst:
            raise FaceSetError("training needs faces on both sides: a face set is empty")
        self.paths = {"src": list(src), "dst": list(dst)}
        self.weights = weights or {}                # side -> (N,) probabilities of drawing each face
        self.config = config
        # per side: the source's faces are mirrored only when src_flip allows it
        self._configs = {"src": dataclasses.replace(config, flip=config.flip and config.src_flip), "dst": config}
        self.seed = seed
        self._reader: FaceReader | None = None       # made in each loader worker, on first use

    def __len__(self) -> int:
        return 2 ** 62          # an endless stream; the sampler picks the indices

    def __getitem__(self, index: int) -> dict[str, dict[str, np.ndarray]]:
        return {side: self.sample(side, index) for side in SIDES}

    def sample(self, side: str, index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, index, SIDES.index(side)])
        if self._reader is None:
            self._reader = FaceReader(self.config)
        face = self._reader.first_readable(self.paths[side], self.pick(side, rng))
        reference = self._colour_reference(index) if side == "src" else None
        return make_sample(face, self._configs[side], rng, reference, self._turn(side, index))

    def _turn(self, side: str, index: int) -> tuple[float, float] | None:
        """(yaw, pitch) degrees to turn sample ``index`` by (its own random stream, like the colour
        reference's, so every other draw stays as without pose_warp), or None."""
        if self.config.pose_warp <= 0:
            return None
        rng = np.random.default_rng([self.seed, index, SIDES.index(side), len(SIDES) + 1])
        yaw, pitch = rng.uniform(-self.config.pose_warp, self.config.pose_warp, 2)     # both drawn: same stream
        axes = self.config.pose_warp_axes
        return (float(yaw) if axes != "pitch" else 0.0), (float(pitch) if axes != "yaw" else 0.0)

    def _colour_reference(self, index: int) -> LabStats | None:
        """The colour statistics of a random destination face for source sample ``index`` (its own
        random stream, so every other draw stays as without colour transfer)."""
        if self.config.color_transfer == "none":
            return None
        rng = np.random.default_rng([self.seed, index, len(SIDES)])
        paths = self.paths["dst"]
        face = self._reader.first_readable(paths, int(rng.integers(len(paths))))
        return lab_stats(face.image.astype(np.float32) / 255.0, face.mask.astype(np.float32) / 255.0)

    def pick(self, side: str, rng: np.random.Generator) -> int:
        """Which face of ``side`` a sample starts from: uniform over faces, or by ``weights``."""
        weights = self.weights.get(side)
        if weights is None:
            return int(rng.integers(len(self.paths[side])))
        return int(rng.choice(len(weights), p=weights))


def load_face(path: Path, config: SampleConfig) -> _Face:
    """Decode a face file, shrunk (with area filtering) close to the scale the model needs."""
    image, record = read_face(path)
    mask = record.masks[config.mask] if config.mask else next(iter(record.masks.values()))
    points = apply(record.matrix, record.landmarks)
    # pixels per template unit: stored vs wanted; shrink once so the per-sample warp never aliases
    ratio = (config.resolution / config.coverage) / (record.size / record.coverage)
    size = record.size
    if ratio < 0.9:
        size = max(config.resolution, int(round(record.size * ratio * 1.1)))
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA)
        points = points * (size / record.size)
    return _Face(image, mask, points.astype(np.float32), size, record.coverage)


def make_sample(face: _Face, config: SampleConfig, rng: np.random.Generator,
                colour_reference: LabStats | None = None,
                turn: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """One augmented sample of ``face``; ``colour_reference``: Lab statistics to move its colours to;
    ``turn``: (yaw, pitch) degrees to turn the face by (pose_warp)."""
    res = config.resolution
    crop = recrop_matrix(face.size, face.coverage, res, config.coverage)
    jitter = jitter_matrix(res, rng, config.rotation, config.scale, config.shift, config.flip)
    matrix = jitter[:, :2] @ crop
    matrix[:, 2] += jitter[:, 2]
    points = apply(matrix, face.points)
    if matrix[0, 0] * matrix[1, 1] - matrix[0, 1] * matrix[1, 0] < 0:   # flipped: swap left/right parts
        points = points[MIRROR_68]
    if turn is None:
        target = cv2.warpAffine(face.image, matrix, (res, res), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpAffine(face.mask, matrix, (res, res), flags=cv2.INTER_LINEAR)
    else:
        target, mask, points = _turned(face, matrix, points, res, turn)
    mask = mask.astype(np.float32) / 255.0
    target = target.astype(np.float32) / 255.0
    if colour_reference is not None:
        target = transfer_colour(target, mask, colour_reference)
    target = colour_jitter(target, rng, config.colour)
    if config.blur_out_mask:
        target = blur_out_mask(target, mask)
    warped = random_warp(target, rng, config.warp)
    return {
        "input": warped.transpose(2, 0, 1).copy(),
        "target": target.transpose(2, 0, 1).copy(),
        "mask": mask[None],
        "priority": priority_map(points, res)[None],
    }


def _turned(face: _Face, matrix: np.ndarray, points: np.ndarray, res: int,
            turn: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target and mask cut by ``matrix`` and turned, in one resampling; the turned landmarks."""
    turned, map_x, map_y = turn_maps(points, res, *turn)
    back = cv2.invertAffineTransform(matrix)        # crop pixels -> the stored face's pixels
    src_x = (back[0, 0] * map_x + back[0, 1] * map_y + back[0, 2]).astype(np.float32)
    src_y = (back[1, 0] * map_x + back[1, 1] * map_y + back[1, 2]).astype(np.float32)
    target = cv2.remap(face.image, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.remap(face.mask, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return target, mask, turned


class StepSampler(Sampler[int]):
    """Endless consecutive indices from ``start`` (sample index = step * batch + k)."""

    def __init__(self, start: int, stride: int = 1, offset: int = 0) -> None:
        self.start, self.stride, self.offset = start, stride, offset

    def __iter__(self) -> Iterator[int]:
        index = self.start
        while True:
            yield index * self.stride + self.offset
            index += 1


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)       # workers prepare samples; the cores' threads belong to the model
    cv2.setNumThreads(1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")   # warnings as in the CLI


def loader_batches(loader: Iterable) -> Iterator:
    """Batches of ``loader``, with a user error raised in a worker process kept to its one-line message.

    (torch re-raises a worker's exception with the worker's whole traceback as its message.)
    """
    batches = iter(loader)
    while True:
        try:
            batch = next(batches)
        except FaceswapError as exc:
            lines = str(exc).rstrip().splitlines()
            if len(lines) < 2:
                raise
            prefix = f"{type(exc).__module__}.{type(exc).__qualname__}: "
            last = lines[-1]
            raise type(exc)(last[len(prefix):] if last.startswith(prefix) else last) from None
        yield batch


def make_loader(dataset: FacePairDataset, batch: int, start_step: int, workers: int,
                rank: int = 0, world: int = 1, first_sample: int | None = None) -> DataLoader:
    """Batches of ``batch`` pairs beginning at ``start_step`` (or at this rank's ``first_sample``);
    each DDP rank gets its own slice."""
    sampler = StepSampler(start_step * batch if first_sample is None else first_sample, stride=world, offset=rank)
    # Workers start from a clean forkserver, not a fork of this process: forking after
    # onnxruntime, OpenMP or OpenCV thread pools have started can deadlock the child.
    return DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers,
                      worker_init_fn=_worker_init if workers else None,
                      multiprocessing_context="forkserver" if workers else None,
                      persistent_workers=workers > 0, prefetch_factor=4 if workers else None)
