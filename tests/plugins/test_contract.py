"""Every registered plugin of every kind, exercised on real faces (shapes, dtypes, ranges, determinism).

Adding a plugin (built-in, package or entry point) adds its cases here without editing this file.
"""
from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from faceswap.align.warp import align_face, points_to_face
from faceswap.registry import Registry

REGISTRY = Registry.discover()


def _names(kind: str) -> list[str]:
    return REGISTRY.names(kind)


@pytest.fixture(scope="module")
def photos(t1_image):
    return [t1_image, skdata.astronaut()]


@pytest.fixture(scope="module")
def reference_faces(insightface_plugins, photos):
    """Detections and 68-point landmarks of the real photos, from the default plugins."""
    dets = insightface_plugins.detector.detect(photos)
    return dets, insightface_plugins.landmarker.landmarks(photos, dets)


@pytest.mark.parametrize("name", _names("detector"))
def test_detector_contract(name, cpu, photos):
    detector = REGISTRY.create("detector", name, {}, cpu)
    results = detector.detect(photos)
    assert len(results) == 2
    assert len(results[0]) == 6 and len(results[1]) == 1, "t1 shows 6 faces, the astronaut 1"
    for image, dets in zip(photos, results):
        h, w = image.shape[:2]
        scores = [d.score for d in dets]
        assert scores == sorted(scores, reverse=True)
        for det in dets:
            assert det.box.shape == (4,) and det.box.dtype == np.float32
            assert det.box[0] < det.box[2] and det.box[1] < det.box[3]
            assert -0.1 * w < det.box[0] and det.box[2] < 1.1 * w and -0.1 * h < det.box[1] and det.box[3] < 1.1 * h
            assert 0.0 <= det.score <= 1.0
            if det.keypoints is not None:
                assert det.keypoints.dtype == np.float32 and det.keypoints.shape[1] == 2
                assert det.keypoints.shape[0] >= 2
                assert det.keypoints[0, 0] < det.keypoints[1, 0], "first keypoint is the image-left eye"
    again = detector.detect(photos)
    assert all(np.array_equal(a.box, b.box) for x, y in zip(results, again) for a, b in zip(x, y))
    assert detector.detect([np.full((240, 320, 3), 128, np.uint8)]) == [[]]


@pytest.mark.parametrize("name", _names("landmarker"))
def test_landmarker_contract(name, cpu, photos, reference_faces):
    landmarker = REGISTRY.create("landmarker", name, {}, cpu)
    dets, _ = reference_faces
    results = landmarker.landmarks(photos, dets)
    assert [len(r) for r in results] == [len(d) for d in dets]
    for row, det_row in zip(results, dets):
        for lms, det in zip(row, det_row):
            assert lms.points.shape == (68, 2) and lms.points.dtype == np.float32
            x0, y0, x1, y1 = det.box
            pad = 0.25 * (x1 - x0)
            inside = ((lms.points[:, 0] > x0 - pad) & (lms.points[:, 0] < x1 + pad)
                      & (lms.points[:, 1] > y0 - pad) & (lms.points[:, 1] < y1 + pad))
            assert inside.mean() > 0.95
            # iBUG layout: image-left eye left of the image-right eye, mouth below the nose
            assert lms.points[36:42, 0].mean() < lms.points[42:48, 0].mean()
            assert lms.points[48:68, 1].mean() > lms.points[30, 1]
    again = landmarker.landmarks(photos, dets)
    assert np.array_equal(results[0][0].points, again[0][0].points)
    assert landmarker.landmarks(photos, [[], []]) == [[], []]


@pytest.mark.parametrize("name", _names("masker"))
def test_masker_contract(name, cpu, photos, reference_faces):
    masker = REGISTRY.create("masker", name, {}, cpu)
    _, landmarks = reference_faces
    faces, points = [], []
    for image, row in zip(photos, landmarks):
        for lms in row:
            face = align_face(image, lms, 128, 2.2)
            faces.append(face.image)
            points.append(points_to_face(lms.points, face.matrix))
    faces, points = np.stack(faces), np.stack(points)
    masks = masker.mask(faces, points)
    assert masks.shape == (len(faces), 128, 128) and masks.dtype == np.float32
    assert masks.min() >= 0.0 and masks.max() <= 1.0
    for mask, pts in zip(masks, points):
        for eye in (slice(36, 42), slice(42, 48)):
            x, y = np.round(pts[eye].mean(0)).astype(int)
            assert mask[y, x] > 0.5, "eyes are inside the face mask"
        assert mask[0, 0] < 0.5 and mask[-1, -1] < 0.5, "crop corners are background"
    assert np.array_equal(masks, masker.mask(faces, points))


@pytest.mark.parametrize("name", _names("identity"))
def test_identity_contract(name, cpu, photos, reference_faces):
    identity = REGISTRY.create("identity", name, {}, cpu)
    _, landmarks = reference_faces
    images = [img for img, row in zip(photos, landmarks) for _ in row]
    flat = [lms for row in landmarks for lms in row]
    vectors = identity.embed(images, flat)
    assert vectors.ndim == 2 and vectors.shape[0] == 7 and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similarity = vectors @ vectors.T
    assert np.all(similarity[~np.eye(7, dtype=bool)] < 0.5), "seven different people"
    assert np.array_equal(vectors, identity.embed(images, flat))


@pytest.mark.parametrize("name", _names("model"))
def test_model_contract(name, cpu, facesets_root):
    import torch

    from faceswap.model_api import LatentSampler
    from faceswap.train.samples import SampleConfig, load_face, make_sample

    model = REGISTRY.create("model", name, {}, cpu)
    res, coverage = model.options.resolution, model.options.coverage
    config = SampleConfig(res, coverage, rotation=0, scale=0, shift=0, flip=False, warp=0, colour=0)
    paths = sorted((facesets_root / "facesets" / "src" / "faces").glob("*.png"))[:2]
    faces = torch.from_numpy(np.stack([make_sample(load_face(p, config), config, np.random.default_rng(0))["target"]
                                       for p in paths]))
    assert (res, coverage) == (model.resolution, model.coverage) and "quick" in model.PRESETS
    model.eval()
    with torch.no_grad():
        z = model.encode(faces).code
    assert z.shape[0] == 2
    for decoder in range(model.decoder_count):
        with torch.no_grad():
            rgb, mask = model.decode(z, decoder)
        assert rgb.shape == (2, 3, res, res) and mask.shape == (2, 1, res, res)
        assert rgb.dtype == torch.float32 and 0 <= float(rgb.min()) and float(rgb.max()) <= 1
        assert 0 <= float(mask.min()) and float(mask.max()) <= 1
    with torch.no_grad():
        assert torch.equal(model.decode(model.encode(faces).code, 0)[0], model.decode(z, 0)[0])
    model.train()
    encoded = model.encode(faces)
    loss = model.decode(encoded.code, model.decoder_count - 1)[0].mean()
    extra = model.extra_losses(encoded)
    assert isinstance(extra, dict) and all(v.ndim == 0 for v in extra.values())
    (loss + sum(extra.values())).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads), "gradients reach the parameters"
    if isinstance(model, LatentSampler):
        codes = model.sample(3, generator=torch.Generator().manual_seed(0))
        assert model.decode(codes, 0)[0].shape == (3, 3, res, res)


def _soft_ellipse(shape: tuple[int, int], centre: tuple[int, int], axes: tuple[int, int], blur: int) -> np.ndarray:
    """A feathered elliptical mask, float32 in [0, 1], exactly 0 beyond the blur."""
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    return cv2.GaussianBlur(mask, (2 * blur + 1, 2 * blur + 1), 0).astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def color_inputs(photos):
    """Two real 128 px crops (astronaut face onto a t1 crop) and a feathered face-like mask."""
    import cv2

    t1, astronaut = photos
    face = cv2.resize(astronaut[20:240, 140:360], (128, 128), interpolation=cv2.INTER_AREA)
    height, width = t1.shape[:2]
    side = min(height, width)
    target = t1[:side, (width - side) // 2:(width + side) // 2]
    target = cv2.resize(target, (128, 128), interpolation=cv2.INTER_AREA)
    mask = _soft_ellipse((128, 128), (64, 68), (40, 52), 6)
    return face.astype(np.float32) / 255.0, target.astype(np.float32) / 255.0, mask


@pytest.mark.parametrize("name", _names("color"))
def test_color_contract(name, cpu, color_inputs):
    plugin = REGISTRY.create("color", name, {}, cpu)
    face, target, mask = color_inputs
    before = [a.copy() for a in color_inputs]
    out = plugin.transfer(face, target, mask)
    assert out.shape == face.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    assert all(np.array_equal(a, b) for a, b in zip(color_inputs, before)), "inputs are not modified"
    assert not np.shares_memory(out, face)
    assert np.array_equal(out, plugin.transfer(face, target, mask)), "same inputs, same output"
    fresh = REGISTRY.create("color", name, {}, cpu)
    assert np.array_equal(out, fresh.transfer(face, target, mask)), "no state carried between instances"
    if name == "none":
        assert np.array_equal(out, face), "'none' is the identity"
    empty = plugin.transfer(face, target, np.zeros_like(mask))
    assert empty.shape == face.shape and empty.dtype == np.float32
    assert np.isfinite(empty).all() and empty.min() >= 0.0 and empty.max() <= 1.0


@pytest.fixture(scope="module")
def blend_inputs(photos):
    """A real frame (t1), a different real image as the warped face, and two feathered masks:
    one inside the frame, one cut by the top-left frame corner."""
    import cv2

    frame, astronaut = photos
    height, width = frame.shape[:2]
    face = cv2.resize(astronaut, (width, height), interpolation=cv2.INTER_AREA)
    inner = _soft_ellipse((height, width), (width * 2 // 5, height // 2), (60, 80), 8)
    corner = _soft_ellipse((height, width), (10, 5), (70, 90), 8)
    return frame, face, {"inner": inner, "corner": corner}


@pytest.mark.parametrize("name", _names("blender"))
def test_blender_contract(name, cpu, blend_inputs):
    blender = REGISTRY.create("blender", name, {}, cpu)
    frame, face, masks = blend_inputs
    for where, mask in masks.items():
        before = [frame.copy(), face.copy(), mask.copy()]
        out = blender.blend(frame, face, mask)
        assert out.shape == frame.shape and out.dtype == np.uint8, where
        assert not np.shares_memory(out, frame), "a new frame, not the input"
        assert all(np.array_equal(a, b) for a, b in zip((frame, face, mask), before)), "inputs are not modified"
        outside, solid = mask == 0, mask >= 1.0
        assert outside.any() and solid.any()
        assert np.array_equal(out[outside], frame[outside]), f"{where}: frame kept exactly where the mask is 0"
        change = np.abs(out[solid].astype(np.int16) - frame[solid].astype(np.int16)).mean()
        assert change > 5, f"{where}: the face shows where the mask is solid"
        assert np.array_equal(out, blender.blend(frame, face, mask)), "same inputs, same output"
    empty = blender.blend(frame, face, np.zeros(frame.shape[:2], np.float32))
    assert np.array_equal(empty, frame) and not np.shares_memory(empty, frame)


@pytest.mark.parametrize("name, options", [("alpha", {"feather": 6}), ("seamless", {"mode": "mixed"}),
                                           ("laplacian", {"levels": 8}), ("laplacian", {"confine": False})])
def test_builtin_blender_options_keep_outside(name, options, cpu, blend_inputs):
    """Non-default options of the built-in blenders still leave their documented "outside" exact."""
    import cv2

    frame, face, masks = blend_inputs
    blender = REGISTRY.create("blender", name, options, cpu)
    for where, mask in masks.items():
        out = blender.blend(frame, face, mask)
        if options.get("confine") is False:
            from faceswap_plugins.blend.laplacian import reach

            # classic pyramid blending spills past the mask, but never farther than its reach
            grown = cv2.dilate((mask > 0).astype(np.uint8), np.ones((3, 3), np.uint8),
                               iterations=reach(blender.options.levels))
            outside = grown == 0
            assert (out[mask == 0] != frame[mask == 0]).any(), "coarse bands do spill"
        else:
            outside = mask == 0
        assert np.array_equal(out[outside], frame[outside]), where
        assert np.abs(out[mask >= 1.0].astype(np.int16) - frame[mask >= 1.0]).mean() > 5, where
