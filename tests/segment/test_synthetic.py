"""Synthetic occluders and training samples: the truth is the landmark region less what was pasted."""
from __future__ import annotations

import numpy as np
import pytest

from segment_helpers import load_faces
from faceswap.segment.occluders import KINDS, occlude
from faceswap.segment.samples import SegmentDataset, SegmentSampleConfig
from faceswap.segment.textures import TextureBank
from faceswap.segment.truth import face_region, fill_polygons


@pytest.fixture(scope="module")
def textures() -> TextureBank:
    return TextureBank.default()


@pytest.mark.parametrize("kind", KINDS)
def test_each_occluder_covers_part_of_the_face_and_nothing_else_changes(kind, facesets_root, textures):
    faces, points, _ = load_faces(facesets_root / "facesets" / "src")
    size = faces.shape[1]
    covered_any = 0
    for k, (face, pts) in enumerate(zip(faces[:4], points[:4])):
        region = face_region(pts, size)
        rng = np.random.default_rng(k)
        out, alpha = occlude(face, region, pts, rng, textures, faces[-1][40:80, 40:80], {kind: 1.0}, 1)
        assert out.shape == face.shape and out.dtype == np.uint8 and alpha.dtype == np.float32
        assert 0 <= alpha.min() and alpha.max() <= 1
        untouched = alpha == 0
        assert np.array_equal(out[untouched], face[untouched]), "pixels no occluder touches keep their value"
        solid = alpha > 0.99
        if solid.any():
            assert np.abs(out[solid].astype(int) - face[solid]).mean() > 3, "covered pixels show the occluder"
        covered_any += ((alpha > 0.5) & (region > 0.5)).sum() > 0
    assert covered_any >= 3, f"{kind}s land on the face"


def test_samples_truth_is_the_face_region_less_the_occluders(facesets_root):
    paths = sorted((facesets_root / "facesets" / "src" / "faces").glob("*.png"))
    dataset = SegmentDataset(paths, SegmentSampleConfig(), 96, seed=3)
    plain, occluded = dataset.sample(0, occluded=False), dataset.sample(0, occluded=True)
    assert plain["input"].shape == (4, 96, 96) and plain["target"].shape == (1, 96, 96)
    prior = plain["input"][3]
    assert np.array_equal(plain["target"][0], prior), "without occluders the truth is the landmark region"
    assert np.array_equal(occluded["input"][3], prior), "the prior channel ignores occluders"
    assert occluded["target"].sum() < plain["target"].sum() - 20, "occluders are taken out of the truth"
    assert np.all(occluded["target"] <= plain["target"] + 1e-6)
    again = SegmentDataset(paths, SegmentSampleConfig(), 96, seed=3).sample(0, occluded=True)
    assert np.array_equal(again["input"], occluded["input"]), "sample i depends only on (seed, i)"


def test_polygons_apply_in_order():
    square = np.array([[10, 10], [50, 10], [50, 50], [10, 50]], np.float32)
    hole = np.array([[20, 20], [40, 20], [40, 40], [20, 40]], np.float32)
    mask = fill_polygons(64, [("include", square), ("exclude", hole)])
    assert mask[15, 15] == 1 and mask[30, 30] == 0 and mask[5, 5] == 0
    again = fill_polygons(64, [("exclude", hole), ("include", square)])
    assert again[30, 30] == 1, "a later include paints over an earlier exclude"


def test_uneven_light_changes_the_face_not_the_truth(facesets_root):
    paths = sorted((facesets_root / "facesets" / "dst" / "faces").glob("*.png"))
    clean = dict(colour=0.0, blur=0.0, jpeg=0.0)
    lit_config, plain_config = SegmentSampleConfig(light=1.0, **clean), SegmentSampleConfig(**clean)
    for index in range(4):
        lit = SegmentDataset(paths, lit_config, 96, seed=5).sample(index, occluded=False)
        plain = SegmentDataset(paths, plain_config, 96, seed=5).sample(index, occluded=False)
        assert np.array_equal(lit["target"], plain["target"]), "light and shadow on the face are still face"
        face = plain["target"][0] > 0.5
        change = np.abs(lit["input"][:3] - plain["input"][:3]).max(axis=0)
        assert change[face].mean() > 0.02, "the light lands on the face"
        assert np.percentile(change[face], 99) > 0.15, "as a patch strong enough to look like shine or shadow"
