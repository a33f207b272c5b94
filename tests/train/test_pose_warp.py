"""-O sample.pose_warp: training faces turned by a depth-guided 2D warp. The turned image must
read as turned to a landmark model that had no part in the warp, and the option must train,
stay reproducible and leave every other random draw of a sample alone."""
from __future__ import annotations

import numpy as np
import torch

from faceswap.align.pose import head_pose, rotate_face
from faceswap.train.checkpoint import load_checkpoint
from faceswap.train.pose_warp import turn_maps
from faceswap.train.samples import FacePairDataset, SampleConfig, load_face, make_sample
from faceswap.train.session import run_training
from faceswap.types import Detection
from faceswap.workspace import Workspace
from tiny import tiny_request

PLAIN = dict(rotation=0, scale=0, shift=0, flip=False, warp=0, colour=0)
TURNS = [(12.0, 0.0), (-12.0, 0.0), (0.0, 10.0), (0.0, -10.0)]


def faces(root, side):
    return sorted((root / "facesets" / side / "faces").glob("*.png"))


def as_image(sample):
    return np.ascontiguousarray((sample["target"].transpose(1, 2, 0) * 255).round().astype(np.uint8))


def test_turned_landmarks_carry_exactly_the_drawn_angles():
    points = rotate_face(6.0, -4.0, 0.0) * 60 + 64
    for yaw, pitch in TURNS:
        turned, _, _ = turn_maps(points, 128, yaw, pitch)
        change = head_pose(turned).as_array() - head_pose(points).as_array()
        assert np.allclose(change, [yaw, pitch, 0.0], atol=0.05), (yaw, pitch, change)


def test_a_turned_sample_reads_as_turned_to_an_independent_landmarker(facesets_root, insightface_plugins):
    config = SampleConfig(128, 1.6, **PLAIN)
    box = [Detection(np.array([16, 16, 112, 112], np.float32), 1.0)]
    for yaw, pitch in TURNS:
        changes = []
        for path in faces(facesets_root, "src")[:4]:
            face = load_face(path, config)
            plain = make_sample(face, config, np.random.default_rng(0))
            turned = make_sample(face, config, np.random.default_rng(0), turn=(yaw, pitch))
            found = insightface_plugins.landmarker.landmarks([as_image(plain), as_image(turned)], [box, box])
            before, after = (head_pose(f[0].points).as_array() for f in found)
            changes.append(after - before)
            # the landmarks the sample carries (its eye/mouth weighting) moved with the image
            assert np.abs(turned["mask"] - plain["mask"]).mean() > 0.002
        measured = np.mean(changes, axis=0)
        assert abs(measured[0] - yaw) < 3.0 and abs(measured[1] - pitch) < 3.0, (yaw, pitch, measured)


def test_pose_warp_is_reproducible_leaves_other_draws_alone_and_resumes_exactly(facesets_root, train_ws, registry,
                                                                               cpu):
    src, dst = faces(facesets_root, "src"), faces(facesets_root, "dst")
    plain = FacePairDataset(src, dst, SampleConfig(64, 1.6, warp=0), seed=4)
    turned = FacePairDataset(src, dst, SampleConfig(64, 1.6, warp=0, pose_warp=15), seed=4)
    a, b, again = plain[9], turned[9], turned[9]
    assert all(np.array_equal(b[side][k], again[side][k]) for side in b for k in b[side])
    assert np.abs(a["src"]["target"] - b["src"]["target"]).mean() > 0.01        # turned ...
    # ... but with the same crop, flip and colour: the face's mean colour stays within rounding
    assert np.allclose(a["src"]["target"].mean((1, 2)), b["src"]["target"].mean((1, 2)), atol=0.03)
    ws = Workspace(train_ws)
    run_training(tiny_request(4, name="straight", sample_options={"pose_warp": 10}), ws, registry, cpu)
    run_training(tiny_request(2, name="split", sample_options={"pose_warp": 10}), ws, registry, cpu)
    summary = run_training(tiny_request(4, name="split"), ws, registry, cpu)      # the option is stored with the model
    assert summary.iteration == 4 and np.isfinite(summary.last_losses["total"])
    a, b = load_checkpoint(ws.model_dir("straight")).weights, load_checkpoint(ws.model_dir("split")).weights
    assert all(torch.equal(a[k], b[k]) for k in a)                                # resumed bit-exactly


def test_pose_warp_axes_keeps_one_axis_of_the_same_draw(facesets_root):
    src, dst = faces(facesets_root, "src"), faces(facesets_root, "dst")
    turns = {axes: FacePairDataset(src, dst, SampleConfig(64, 1.6, pose_warp=8, pose_warp_axes=axes), seed=4)
             for axes in ("both", "pitch", "yaw")}
    for index in range(6):
        for side in ("src", "dst"):
            yaw, pitch = turns["both"]._turn(side, index)
            assert turns["pitch"]._turn(side, index) == (0.0, pitch)
            assert turns["yaw"]._turn(side, index) == (yaw, 0.0)
            assert abs(yaw) > 0 and abs(pitch) > 0
    # the pitch-only face differs from the unturned one, and from the face turned both ways
    plain = FacePairDataset(src, dst, SampleConfig(64, 1.6), seed=4)[3]["src"]["target"]
    pitched = turns["pitch"][3]["src"]["target"]
    both = turns["both"][3]["src"]["target"]
    assert np.abs(pitched - plain).mean() > 0.005 and np.abs(pitched - both).mean() > 0.005
