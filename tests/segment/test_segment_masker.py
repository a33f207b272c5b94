"""The `segment` masker with its shipped generic model: excludes occluders on held-out faces, keeps
the face, is verified before use, and is applied by extract and by `faceswap mask apply`."""
from __future__ import annotations

import shutil
import sys
from dataclasses import replace

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from segment_helpers import iou, load_faces, mask_ws  # noqa: F401 (mask_ws is a fixture)
from faceswap.cli.main import cli
from faceswap.errors import ModelError
from faceswap.faceset.store import FaceSet, read_face, read_record
from faceswap.segment.models import read_weight_file
from faceswap.segment.occluders import occlude
from faceswap.segment.textures import TextureBank
from faceswap.segment.truth import face_region, fill_polygons
from faceswap.align.umeyama import apply
from faceswap.weights import locate
from faceswap_plugins.mask.segment import GENERIC, GENERIC_JSON

# What the shipped model must reach on the held-out AOC faces (benchmarks/mask.py measures more).
MIN_FACE_IOU = 0.90          # un-occluded face vs the landmark region (the `extended` hull), mean
MIN_FACE_IOU_ONE = 0.80      # the same for any one face
# Katie Hill's hair falls over her forehead: the net leaves it out, the hull counts it as face
MIN_FACE_IOU_ONE_FRINGE = 0.75
MIN_CORE_KEPT = 0.97, 0.90   # share of the 68 points' own hull (no forehead) the mask keeps: mean, any one face
# share of the occluded face pixels the mask leaves out (the hull leaves out none of them)
MIN_OCCLUDER_RECALL = {"hand": 0.6, "bar": 0.6, "patch": 0.3}


def run(ws, *args):
    return CliRunner().invoke(cli, ["--workspace", str(ws), "--device", "cpu", *args])


@pytest.fixture(scope="module")
def segment(registry, cpu):
    return registry.create("masker", "segment", {}, cpu)


@pytest.fixture(scope="module")
def aoc(facesets_root):
    """AOC is never in the generic model's training data."""
    return load_faces(facesets_root / "facesets" / "src")


def test_the_mask_keeps_an_unoccluded_held_out_face(segment, aoc):
    faces, points, _ = aoc
    masks = segment.mask(faces, points)
    scores = [iou(mask, face_region(pts, faces.shape[1])) for mask, pts in zip(masks, points)]
    assert min(scores) >= MIN_FACE_IOU_ONE and np.mean(scores) >= MIN_FACE_IOU, scores


@pytest.mark.parametrize("kind", ["hand", "bar", "patch"])
def test_the_mask_leaves_out_a_synthetic_occluder_on_a_held_out_face(kind, segment, aoc):
    faces, points, _ = aoc
    textures = TextureBank.default()
    occluded, covers = [], []
    for k, (face, pts) in enumerate(zip(faces, points)):
        region = face_region(pts, face.shape[0])
        out, alpha = occlude(face, region, pts, np.random.default_rng(100 + k), textures,
                             faces[(k + 3) % len(faces)][50:80, 40:90], {kind: 1.0}, 1)
        occluded.append(out)
        covers.append((alpha > 0.5) & (region > 0.5))
    masks = segment.mask(np.stack(occluded), points)
    hidden = sum(int((cover & (mask < 0.5)).sum()) for cover, mask in zip(covers, masks))
    recall = hidden / max(1, sum(int(c.sum()) for c in covers))
    assert recall >= MIN_OCCLUDER_RECALL[kind], f"{kind}: only {recall:.2f} of the occluded face pixels left out"
    visible = [iou(mask, face_region(pts, faces.shape[1]) * ~cover) for mask, pts, cover in zip(masks, points, covers)]
    assert np.mean(visible) >= 0.8, f"{kind}: the rest of the face is kept ({np.mean(visible):.2f})"


def test_extract_stores_the_segment_mask_beside_the_hull(tmp_path, talking_frames):
    ws = tmp_path / "ws"
    result = run(ws, "extract", str(talking_frames), "--every", "6", "--masker", "extended", "--masker", "segment")
    assert result.exit_code == 0, result.output
    paths = FaceSet(ws / "facesets" / talking_frames.stem).face_paths()
    assert len(paths) == 5
    for path in paths:
        record = read_record(path)
        assert list(record.masks) == ["extended", "segment"], "the extraction's first mask stays first"
        assert iou(record.mask("segment"), record.mask("extended")) >= MIN_FACE_IOU_ONE
        assert any(p.kind == "masker" and p.name == "segment" for p in record.producers)


def test_mask_apply_adds_the_mask_to_every_face_and_keeps_the_pixels(mask_ws):
    paths = FaceSet(mask_ws / "facesets" / "dst").face_paths()
    before = {p: read_face(p) for p in paths}
    result = run(mask_ws, "mask", "apply", "dst")
    assert result.exit_code == 0, result.output
    assert "'segment' mask written to 8 faces" in result.output
    scores, kept = [], []
    for path, (image, record) in before.items():
        after_image, after = read_face(path)
        assert np.array_equal(after_image, image), "pixels are not re-encoded"
        assert list(after.masks) == [*record.masks, "segment"]
        assert np.array_equal(after.masks["extended"], record.masks["extended"])
        scores.append(iou(after.mask("segment"), record.mask("extended")))
        core = fill_polygons(record.size, [("include", cv2.convexHull(
            apply(record.matrix, record.landmarks).astype(np.float32))[:, 0])]) > 0.5
        kept.append(float((after.mask("segment")[core] > 0.5).mean()))
    assert np.mean(kept) >= MIN_CORE_KEPT[0] and min(kept) >= MIN_CORE_KEPT[1], f"the face itself is kept: {kept}"
    assert min(scores) >= MIN_FACE_IOU_ONE_FRINGE and np.mean(scores) >= MIN_FACE_IOU - 0.05, scores
    assert FaceSet(mask_ws / "facesets" / "dst").verify() is None
    result = run(mask_ws, "mask", "apply", "dst", "--masker", "hull", "--as", "segment")
    assert result.exit_code == 0, result.output
    record = read_record(paths[0])
    assert list(record.masks) == ["extended", "segment"], "--as replaces a mask of that name in place"


def test_the_shipped_weights_are_package_files_with_pinned_digests():
    path = locate(GENERIC)
    assert path.parent == locate(GENERIC_JSON).parent and path.stat().st_size < 4_000_000
    config, tensors, meta = read_weight_file(path)
    assert all(t.dtype.itemsize == 2 for t in tensors.values()), "stored as fp16"
    assert set(meta["held_out"]) >= {"aoc", "katie_hill", "young_woman"}


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_weights_file_is_a_one_line_model_error(damage, tmp_path, monkeypatch, cpu, registry):
    package = tmp_path / "fake_plugins"
    shutil.copytree(locate(GENERIC).parent, package / "mask" / "weights")
    (package / "__init__.py").write_text("")
    target = package / "mask" / "weights" / GENERIC.filename
    data = bytearray(target.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        data = data[: len(data) - 100]
    target.write_bytes(bytes(data))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelError, match="does not match its known sha256: reinstall faceswap") as caught:
        locate(replace(GENERIC, package="fake_plugins"))
    assert "\n" not in str(caught.value)
    with pytest.raises(ModelError, match="does not match the sha256 in segment_generic.json") as caught:
        read_weight_file(target)
    assert "\n" not in str(caught.value)
    sys.modules.pop("fake_plugins", None)


def test_a_tampered_fine_tuned_model_is_refused_in_one_line(mask_ws):
    from faceswap.segment.models import build_net
    from faceswap.train.checkpoint import TrainerState, save_checkpoint
    import torch

    config, tensors, _ = read_weight_file(locate(GENERIC))
    net = build_net(config, tensors, mask_ws)
    folder = mask_ws / "models" / "mine"
    save_checkpoint(folder, {"plugin": "segment", "kind": "masker", "net": config.as_dict()}, net,
                    torch.optim.AdamW(net.parameters()), TrainerState(), backups=0)
    result = run(mask_ws, "mask", "apply", "src", "--model", "mine")
    assert result.exit_code == 0, result.output
    data = bytearray((folder / "weights.safetensors").read_bytes())
    data[-10] ^= 0xFF
    (folder / "weights.safetensors").write_bytes(bytes(data))
    result = run(mask_ws, "mask", "apply", "src", "--model", "mine")
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "does not match its recorded sha256" in result.output
    assert result.output.count("\n") == 1
