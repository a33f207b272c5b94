"""Face sets -> segmentation samples: a jittered net crop, synthetic occluders, photometric noise.

The truth of a sample is the face region the landmarks give (``truth = "landmarks"``, for the
generic model) or the user's label polygons (``"labels"``, for fine-tuning), less every occluder
pasted over it. Sample ``i`` depends only on (seed, i), as in train/samples.py, so a resumed run
sees the batches an uninterrupted one would.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np
from torch.utils.data import Dataset

from faceswap.align.umeyama import apply
from faceswap.errors import FaceSetError
from faceswap.faceset.store import read_face
from faceswap.options import option
from faceswap.segment.occluders import KINDS, occlude
from faceswap.segment.predict import net_crop, net_input, net_matrix
from faceswap.segment.textures import TextureBank
from faceswap.segment.truth import face_region, label_mask
from faceswap.train.augment import colour_jitter, jitter_matrix
from faceswap.train.samples import FaceCache

TRUTHS = ("landmarks", "labels")


@dataclass(frozen=True)
class SegmentSampleConfig:
    """How samples are cut, occluded and augmented (-O sample.KEY=VALUE of 'faceswap mask train')."""

    rotation: float = option(12.0, "degrees of random rotation", min=0, max=45)
    scale: float = option(0.08, "random zoom, fraction", min=0, max=0.5)
    shift: float = option(0.05, "random shift, fraction of the crop", min=0, max=0.3)
    flip: bool = option(True, "mirror half of the samples")
    colour: float = option(0.15, "colour jitter strength", min=0, max=1)
    blur: float = option(0.2, "chance of a blur (soft or low-resolution footage)", min=0, max=1)
    jpeg: float = option(0.3, "chance of JPEG compression artefacts", min=0, max=1)
    light: float = option(0.0, "chance of uneven light on the face: smooth bright and dark patches (shine, "
                               "blown highlights, shadow), the truth unchanged", min=0, max=1)
    occlude: float = option(0.75, "chance that a sample gets synthetic occluders", min=0, max=1)
    most: int = option(3, "most occluders on one sample", min=1, max=8)
    hand: float = option(0.3, "relative frequency of hands", min=0)
    patch: float = option(0.25, "relative frequency of textured patches", min=0)
    bar: float = option(0.2, "relative frequency of bars (microphones, pens)", min=0)
    hair: float = option(0.15, "relative frequency of hair strands and fringes", min=0)
    glasses: float = option(0.1, "relative frequency of glasses frames", min=0)
    cache_mb: int = option(256, "decoded-face cache per loader worker (MB)", min=16)

    def kind_weights(self) -> dict[str, float]:
        return {kind: getattr(self, kind) for kind in KINDS}


@dataclass
class _Face:
    image: np.ndarray           # (S, S, 3) uint8
    mask: np.ndarray            # (S, S) uint8 label mask, or (1, 1) when the truth is the landmarks
    points: np.ndarray          # (68, 2) face pixels
    matrix: np.ndarray          # (2, 3) face pixels -> the net's crop, before jitter
    skin: np.ndarray            # (h, w, 3) uint8 patch of cheeks and nose: texture for other faces' hands


def load_segment_face(path: Path, truth: str, resolution: int) -> _Face:
    image, record = read_face(path)
    points = apply(record.matrix, record.landmarks).astype(np.float32)
    if truth == "labels":
        if not record.labels:
            raise FaceSetError(f"{path}: no mask labels on this face (import them with 'faceswap mask label')")
        mask = np.round(label_mask(record.labels, record.size) * 255).astype(np.uint8)
    else:
        mask = np.zeros((1, 1), np.uint8)
    matrix = net_matrix(points, resolution)
    return _Face(image, mask, points, matrix, _skin_patch(net_crop(image, matrix, resolution), apply(matrix, points)))


def _skin_patch(crop: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The cheeks and nose between the eyes' lower lids and the upper lip."""
    x0, x1 = sorted((points[41, 0], points[46, 0]))
    y0, y1 = points[29, 1], points[33, 1] + 0.5 * (points[57, 1] - points[33, 1])
    patch = crop[int(max(0, y0)):int(max(y0 + 2, y1)), int(max(0, x0)):int(max(x0 + 2, x1))]
    return patch.copy() if patch.size else crop.copy()


class SegmentDataset(Dataset):
    """Item ``i``: {"faces": {"input": (C, R, R), "target": (1, R, R)}} float32 (C: RGB + prior, see net.py)."""

    def __init__(self, paths: Sequence[Path], config: SegmentSampleConfig, resolution: int, seed: int,
                 truth: str = "landmarks", texture_dirs: Sequence[Path] = (), weights: Sequence[float] | None = None,
                 prior: bool = True) -> None:
        if not paths:
            raise FaceSetError("no faces to train the masker on")
        self.paths = list(paths)
        self.config, self.resolution, self.seed, self.truth, self.prior = config, resolution, seed, truth, prior
        self.texture_dirs = tuple(texture_dirs)
        chances = np.ones(len(self.paths)) if weights is None else np.asarray(weights, np.float64)
        self.cumulative = np.cumsum(chances / chances.sum())
        self._cache: FaceCache | None = None          # made in each loader worker, on first use
        self._textures: TextureBank | None = None

    def __len__(self) -> int:
        return 2 ** 62

    def __getitem__(self, index: int) -> dict[str, dict[str, np.ndarray]]:
        return {"faces": self.sample(index)}

    def face(self, rng: np.random.Generator) -> _Face:
        pick = min(int(np.searchsorted(self.cumulative, rng.random())), len(self.paths) - 1)
        if self._cache is None:
            self._cache = FaceCache(self.config.cache_mb * 2 ** 20)
        path = self.paths[pick]
        return self._cache.get(path, lambda p: load_segment_face(p, self.truth, self.resolution))

    def textures(self) -> TextureBank:
        if self._textures is None:
            self._textures = TextureBank.default(self.texture_dirs)
        return self._textures

    def sample(self, index: int, occluded: bool | None = None) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, index])
        config, res = self.config, self.resolution
        face = self.face(rng)
        matrix = _compose(jitter_matrix(res, rng, config.rotation, config.scale, config.shift, config.flip),
                          face.matrix)
        crop = net_crop(face.image, matrix, res)
        points = apply(matrix, face.points)
        if config.light > 0 and rng.random() < config.light:     # no draw when off: old runs' samples stay
            crop = uneven_light(crop, points, rng)
        prior = face_region(points, res)
        truth = prior if self.truth == "landmarks" else net_crop(face.mask, matrix, res) / 255.0
        if occluded if occluded is not None else rng.random() < config.occlude:
            crop, covered = occlude(crop, truth, points, rng, self.textures(), self.face(rng).skin,
                                    config.kind_weights(), int(rng.integers(1, config.most + 1)))
            truth = truth * (1 - covered)
        image = np.round(_degrade(crop, rng, config) * 255).astype(np.uint8)
        return {"input": net_input(image, prior if self.prior else None), "target": truth.astype(np.float32)[None]}


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The (2, 3) matrix applying ``inner`` then ``outer``."""
    matrix = outer[:, :2] @ inner
    matrix[:, 2] += outer[:, 2]
    return matrix


def uneven_light(crop: np.ndarray, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``crop`` (R, R, 3) uint8 under 1-3 soft patches of light or shadow centred on the face: the shine
    and blown highlights of studio footage, which are face, not something in front of it."""
    size = crop.shape[0]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    gain = np.ones((size, size), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        centre = points[int(rng.integers(len(points)))] + rng.normal(0, 0.05 * size, 2)
        sigma = rng.uniform(0.05, 0.18) * size
        amount = rng.uniform(0.3, 0.9) if rng.random() < 0.7 else -rng.uniform(0.2, 0.45)
        gain += amount * np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * sigma ** 2))
    return np.clip(crop.astype(np.float32) * gain[..., None], 0, 255).astype(np.uint8)


def _degrade(crop: np.ndarray, rng: np.random.Generator, config: SegmentSampleConfig) -> np.ndarray:
    """Colour jitter, sometimes a blur, sometimes JPEG artefacts: float32 (R, R, 3) in [0, 1]."""
    if rng.random() < config.blur:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.5, 1.8))
    if rng.random() < config.jpeg:
        ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        crop = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if ok else crop
    return colour_jitter(crop.astype(np.float32) / 255.0, rng, config.colour)


def config_fields() -> list[str]:
    return [f.name for f in fields(SegmentSampleConfig)]
