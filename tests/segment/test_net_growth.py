"""Growing the segmentation net: a model started from one without the full-resolution stage or
the every-pixel stem, or from a narrower one, answers as before until it learns; the region
limit; net options in one line."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner

from segment_helpers import load_faces, mask_ws  # noqa: F401 (mask_ws is a fixture)
from faceswap.cli.main import cli
from faceswap.segment.models import build_net, read_mask_model
from faceswap.segment.net import NetConfig, SegmentNet
from faceswap.segment.predict import net_input, net_matrix, net_crop, predict_masks
from faceswap.segment.truth import face_region
from faceswap.align.umeyama import apply


def run(ws, *args):
    return CliRunner().invoke(cli, ["--workspace", str(ws), "--device", "cpu", *args])


def _trained_looking(config: NetConfig) -> SegmentNet:
    """A net with random weights everywhere, the head and batch-norm statistics included."""
    torch.manual_seed(3)
    net = SegmentNet(config)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point() and "running_var" in name:
                tensor.uniform_(0.5, 2.0)
            elif tensor.is_floating_point() and name != "prior_gain":
                tensor.normal_(0, 0.2)
    return net.eval()


def _inputs(faces: np.ndarray, points: np.ndarray, resolution: int) -> torch.Tensor:
    rows = []
    for face, pts in zip(faces, points):
        matrix = net_matrix(pts, resolution)
        rows.append(net_input(net_crop(face, matrix, resolution), face_region(apply(matrix, pts), resolution)))
    return torch.from_numpy(np.stack(rows))


def test_a_grown_net_answers_as_its_source(facesets_root):
    faces, points, _ = load_faces(facesets_root / "facesets" / "src")
    source = _trained_looking(NetConfig())
    x = _inputs(faces[:4], points[:4], 128)
    grown = build_net(replace(source.config, fine=8, unshuffle=True), source.state_dict(), Path("src"), grow=True)
    with torch.inference_mode():
        before, after = source(x), grown(x)
    assert before.abs().max() > 1 and (after - before).abs().max() < 1e-3
    assert grown.stem[0].weight.shape[1] == 16 and grown.fine_head.weight.abs().sum() == 0


def test_a_widened_net_answers_as_its_source_and_its_new_channels_learn(facesets_root):
    faces, points, _ = load_faces(facesets_root / "facesets" / "src")
    source = _trained_looking(NetConfig(fine=8, unshuffle=True))
    x = _inputs(faces[:4], points[:4], 128)
    wide = build_net(replace(source.config, widths=(24, 48, 96, 144, 192), fine=16), source.state_dict(),
                     Path("src"), grow=True)
    with torch.inference_mode():
        before, after = source(x), wide(x)
    assert before.abs().max() > 1 and (after - before).abs().max() < 1e-3
    assert wide.down[3][0][0].weight.shape == (192, 144, 3, 3) and wide.fine_head.weight.shape[1] == 16
    # the added channels start with no say but get a gradient: training gives them one
    wide.train()
    wide(x).square().mean().backward()
    assert wide.head.weight.grad[:, 16:].abs().sum() > 0 and wide.fine_head.weight.grad[:, 8:].abs().sum() > 0


def test_the_limit_keeps_the_mask_inside_the_face_region(facesets_root):
    faces, points, _ = load_faces(facesets_root / "facesets" / "src")
    net = _trained_looking(NetConfig(limit=True))
    with torch.no_grad():
        net.head.bias.fill_(20.0)                   # a net that calls everything face
    masks = predict_masks(net, faces, points)
    regions = np.stack([face_region(p, faces.shape[1]) for p in points])
    assert (masks[regions < 0.01] < 0.02).all()    # outside: not face, at the face's own resolution
    assert (masks[regions > 0.99] > 0.98).mean() > 0.99


def test_old_weight_files_describe_nets_without_the_new_stages():
    old = {"resolution": 128, "widths": [16, 32, 64, 96, 128], "prior": True, "pool": 2}
    assert NetConfig.from_dict(old) == NetConfig()
    assert NetConfig.from_dict(NetConfig(fine=8, limit=True, unshuffle=True).as_dict()).fine == 8


def test_net_options_grow_a_new_model_and_bad_ones_are_one_line(mask_ws):
    args = ("mask", "train", "--faces", "src", "--synthetic", "--iters", "1", "--batch", "2", "--workers", "0",
            "--preview-every", "0", "--init", "none")
    result = run(mask_ws, *args, "--name", "bad", "-O", "net.fine=-1")
    assert result.exit_code == 1 and "fine" in result.output and result.output.count("\n") == 1
    result = run(mask_ws, *args, "--name", "wider", "-O", "net.widen=2")      # from scratch, twice as wide
    assert result.exit_code == 0 and read_mask_model(mask_ws / "models" / "wider")[0].widths == (32, 64, 128, 192, 256)
    result = run(mask_ws, *args, "--name", "bad", "-O", "net.colour=2")
    assert result.exit_code == 1 and "colour" in result.output and result.output.count("\n") == 1
    result = run(mask_ws, *args, "--name", "grown", "-O", "net.fine=8", "-O", "net.limit=true",
                 "--occluder-weight", "2")
    assert result.exit_code == 0, result.output
    config, checkpoint = read_mask_model(mask_ws / "models" / "grown")
    assert (config.fine, config.limit) == (8, True) and checkpoint.model_info["occluder_weight"] == 2
    result = run(mask_ws, *args, "--name", "grown", "-O", "net.fine=16", "--iters", "2")
    assert result.exit_code == 1 and "other net options" in result.output
    result = run(mask_ws, *args, "--name", "wide", "--init", "grown", "-O", "net.widen=1.5")
    assert result.exit_code == 0, result.output
    config, _ = read_mask_model(mask_ws / "models" / "wide")
    assert config.widths == (24, 48, 96, 144, 192) and (config.fine, config.limit) == (8, True)
    result = run(mask_ws, *args, "--name", "wide", "-O", "net.widen=1.5", "--iters", "2")     # resumes
    assert result.exit_code == 0, result.output
    assert read_mask_model(mask_ws / "models" / "wide")[1].state.iteration == 2
    json.loads((mask_ws / "models" / "grown" / "model.json").read_text())
