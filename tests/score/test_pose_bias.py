"""Pose bias and gain: a swap turned the same way in every frame shows as a bias, not as failing to follow the
head; one that turns less than the head shows as a gain under 1."""
from __future__ import annotations

import cv2
import numpy as np

from faceswap.align.pose import head_pose
from faceswap.faceset.store import FaceSet, read_face
from faceswap.score.measures import pose_error
from faceswap.score.scorer import FaceScore
from faceswap.score.summary import summarise
from faceswap.train.pose_warp import turn_points


def _rolled(points: np.ndarray, degrees: float) -> np.ndarray:
    turn = cv2.getRotationMatrix2D(tuple(float(v) for v in points.mean(0)), degrees, 1.0)
    return points @ turn[:, :2].T + turn[:, 2]


def _score(original: np.ndarray, swapped: np.ndarray) -> FaceScore:
    angle, delta = pose_error(original, swapped)
    return FaceScore(frame=0, face=0, box=[0.0] * 4, cos_original=0.0, pose_error=angle,
                     axes_error=list(np.abs(delta)), axes_delta=list(delta), expression_error=0.0, sharpness=1.0,
                     blend_delta_e=None, seam=None, pose_original=list(head_pose(original).as_array()))


def test_a_constant_roll_is_all_bias_and_a_swap_that_ignores_the_head_is_not(facesets_root):
    paths = FaceSet(facesets_root / "facesets" / "dst").face_paths()[::6][:12]
    heads = [read_face(p)[1].landmarks.astype(np.float64) for p in paths]     # real landmarks, real head motion
    turned = summarise([_score(h, _rolled(h, 6.0)) for h in heads], ())["pose_error"]
    assert abs(turned["mean"] - 6.0) < 0.5
    assert abs(abs(turned["bias"][2]) - 6.0) < 0.5 and max(abs(v) for v in turned["bias"][:2]) < 0.5
    assert max(turned["axes_less_bias"]) < 0.3             # it followed every turn of the head
    frozen = summarise([_score(h, heads[0]) for h in heads], ())["pose_error"]     # one pose for every frame
    assert max(frozen["axes_less_bias"]) > 0.5


def test_the_gain_is_how_far_the_swap_turns_per_degree_of_the_head(facesets_root):
    paths = FaceSet(facesets_root / "facesets" / "dst").face_paths()
    heads = [read_face(p)[1].landmarks.astype(np.float64) for p in paths]
    pose = np.array([head_pose(h).as_array() for h in heads])
    assert pose[:, :2].std(0).min() > 1.0, "the clip's head barely turns: nothing to measure a gain on"
    gain = lambda swaps: summarise([_score(h, s) for h, s in zip(heads, swaps)], ())["pose_error"]["gain"]  # noqa
    assert np.allclose(gain([_rolled(h, 6.0) for h in heads])[:2], 1.0, atol=0.05)     # follows, turned or not
    assert np.allclose(gain([heads[0]] * len(heads))[:2], 0.0, atol=0.05)             # one pose for every frame
    halfway = [turn_points(h, -yaw / 2, -pitch / 2) for h, (yaw, pitch, _) in zip(heads, pose)]
    assert np.allclose(gain(halfway)[:2], 0.5, atol=0.05)
