"""Merge's mask shaping: a mask that reaches the crop's edge is feathered there, not cut."""
from __future__ import annotations

import numpy as np
import pytest

from faceswap.merge.masks import shape_mask


def _forehead_mask(size: int = 128) -> np.ndarray:
    """A face mask cut by the crop's top edge, as a tight crop cuts a forehead."""
    yy, xx = np.mgrid[:size, :size]
    return (((xx - size / 2) / (0.4 * size)) ** 2 + ((yy - 0.4 * size) / (0.55 * size)) ** 2 <= 1).astype(np.float32)


@pytest.mark.parametrize("erode", [0.0, 0.05, -0.05])
def test_the_feather_reaches_zero_at_the_crop_edge(erode):
    mask = _forehead_mask()
    assert mask[0].max() == 1.0
    shaped = shape_mask(mask, erode, 0.04)
    assert shaped[0].max() < 0.1 and shaped[:, 0].max() < 0.1
    assert shaped[64, 64] == pytest.approx(1.0, abs=1e-3)
    # the feather rises smoothly from the edge: no step between neighbouring rows
    assert np.abs(np.diff(shaped[:, 64])).max() < 0.15


def test_without_feathering_the_mask_is_kept_as_given():
    mask = _forehead_mask()
    np.testing.assert_array_equal(shape_mask(mask, 0.0, 0.0), mask)
