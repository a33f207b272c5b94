"""The optional deep loss terms: identity alignment, and training with them switched on."""
import json

import cv2
import numpy as np
import torch

from faceswap.align.template import ARCFACE_5, five_points, template_pixels
from faceswap.align.umeyama import umeyama
from faceswap.faceset.store import FaceSet
from faceswap.train.identity_loss import IdentityLoss
from faceswap.train.samples import SampleConfig, load_face, make_sample
from faceswap.train.session import run_training
from faceswap.workspace import Workspace
from tiny import tiny_request


def test_identity_alignment_matches_opencv(facesets_root):
    config = SampleConfig(96, 1.6, rotation=0, scale=0, shift=0, flip=False, warp=0, colour=0)
    path = FaceSet(facesets_root / "facesets" / "src").face_paths()[0]
    crop = make_sample(load_face(path, config), config, np.random.default_rng(0))["target"]
    loss = IdentityLoss(96, 1.6)
    ours = loss.align(torch.from_numpy(crop)[None])[0].permute(1, 2, 0).numpy()
    matrix = umeyama(five_points(template_pixels(96, 1.6)), ARCFACE_5)
    reference = cv2.warpAffine(crop.transpose(1, 2, 0), matrix, (112, 112), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(ours - reference)[8:-8, 8:-8].mean() < 0.01


def test_same_person_scores_lower_identity_loss_than_another(facesets_root):
    config = SampleConfig(96, 1.6, rotation=0, scale=0, shift=0, flip=False, warp=0, colour=0)

    def crops(side):
        paths = FaceSet(facesets_root / "facesets" / side).face_paths()[:4]
        return torch.from_numpy(np.stack([make_sample(load_face(p, config), config, np.random.default_rng(0))["target"]
                                          for p in paths]))

    src, dst = crops("src"), crops("dst")
    loss = IdentityLoss(96, 1.6)
    with torch.no_grad():
        assert loss(src.flip(0), src) + 0.3 < loss(dst, src)


def test_training_with_perceptual_and_identity_terms(train_ws, registry, cpu):
    request = tiny_request(2, loss_options={"lpips_weight": 0.5, "identity_weight": 0.2, "identity_every": 1})
    summary = run_training(request, Workspace(train_ws), registry, cpu)
    logged = [json.loads(line) for line in (summary.folder / "loss.jsonl").read_text().splitlines()]
    assert {"src_lpips", "dst_lpips", "identity"} <= set(logged[-1])
    assert all(np.isfinite(v) for entry in logged for v in entry.values())
