"""Head pose from 68 landmarks: exact on the 3D face itself, mirror-consistent on real photos."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import PHOTOS
from faceswap.align.pose import head_pose, rotate_face
from faceswap.extract.tracking import FaceFinder
from faceswap.media.image import read_image


@pytest.mark.parametrize("angles", [(25, 0, 0), (0, -15, 0), (0, 0, 12), (-35, 20, -8), (40, -10, 5)])
def test_known_rotations_of_the_3d_face_are_recovered(angles):
    points = rotate_face(*angles) * 180 + [320, 240]       # any scale and position
    assert head_pose(points).as_array() == pytest.approx(np.array(angles, float), abs=1e-6)


def test_real_head_turn_has_the_documented_sign_and_mirrors(insightface_plugins):
    image = read_image(PHOTOS / "kit_harington" / "john2.jpeg")     # looks towards the image's left
    pose, mirrored = (head_pose(FaceFinder(insightface_plugins, 40, 1).find(im)[0].landmarks.points)
                      for im in (image, np.ascontiguousarray(image[:, ::-1])))
    assert pose.yaw < -10
    assert mirrored.yaw == pytest.approx(-pose.yaw, abs=3)
    assert mirrored.roll == pytest.approx(-pose.roll, abs=3)
    assert mirrored.pitch == pytest.approx(pose.pitch, abs=3)
