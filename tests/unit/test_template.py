import numpy as np

from faceswap.align.template import (FIT_POINTS, TEMPLATE_68, face_matrix, recrop_matrix,
                                     template_pixels)
from faceswap.align.umeyama import apply, umeyama


def test_template_is_symmetric_and_normalised():
    inner = TEMPLATE_68[FIT_POINTS]
    assert np.isclose(inner[:, 0].max() - inner[:, 0].min(), 1.0)
    assert np.allclose((inner.min(0) + inner.max(0)) / 2, 0, atol=1e-6)
    # chin below the mouth, brows above the eyes (y grows downwards)
    assert TEMPLATE_68[8, 1] > TEMPLATE_68[57, 1] > TEMPLATE_68[33, 1] > TEMPLATE_68[36:48, 1].max()
    assert TEMPLATE_68[17:27, 1].max() < TEMPLATE_68[36:48, 1].min()


def test_umeyama_recovers_a_known_similarity():
    rng = np.random.default_rng(0)
    src = rng.uniform(-50, 50, (20, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -4.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ (scale * rot).T + shift
    matrix = umeyama(src, dst)
    assert np.allclose(matrix[:, :2], scale * rot, atol=1e-9)
    assert np.allclose(matrix[:, 2], shift, atol=1e-9)


def test_face_matrix_maps_template_points_onto_template_pixels():
    points = template_pixels(300, 1.0) * 0.5 + 40          # the template, as if seen in a frame
    matrix = face_matrix(points, size=256, coverage=2.2)
    assert np.allclose(apply(matrix, points), template_pixels(256, 2.2), atol=1e-6)


def test_recrop_matrix_matches_direct_crop():
    points = template_pixels(300, 1.0) * 0.7 + 10
    stored = face_matrix(points, 256, 2.2)
    direct = face_matrix(points, 96, 1.6)
    chained = recrop_matrix(256, 2.2, 96, 1.6)
    composed = chained[:, :2] @ stored
    composed[:, 2] += chained[:, 2]
    assert np.allclose(composed, direct, atol=1e-6)
