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

    from faceswap.train.samples import SampleConfig, load_face, make_sample

    model = REGISTRY.create("model", name, {}, cpu)
    res, coverage = model.options.resolution, model.options.coverage
    config = SampleConfig(res, coverage, rotation=0, scale=0, shift=0, flip=False, warp=0, colour=0)
    paths = sorted((facesets_root / "facesets" / "src" / "faces").glob("*.png"))[:2]
    faces = torch.from_numpy(np.stack([make_sample(load_face(p, config), config, np.random.default_rng(0))["target"]
                                       for p in paths]))
    model.eval()
    z = model.encode(faces)
    assert z.shape[0] == 2
    for identity in (0, 1):
        rgb, mask = model.decode(z, identity)
        assert rgb.shape == (2, 3, res, res) and mask.shape == (2, 1, res, res)
        assert rgb.dtype == torch.float32 and 0 <= float(rgb.min()) and float(rgb.max()) <= 1
        assert 0 <= float(mask.min()) and float(mask.max()) <= 1
    assert torch.equal(model.decode(model.encode(faces), 0)[0], model.decode(z, 0)[0])
    loss = model.decode(model.encode(faces), 1)[0].mean()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads), "gradients reach the parameters"
    assert isinstance(model.extra_losses(z), dict)
