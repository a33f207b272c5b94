"""``faceswap mask train``: fine-tuning the generic model on a handful of labelled faces (XSeg style)
improves the mask of their siblings; runs resume, write previews and verified checkpoints."""
from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from segment_helpers import iou, load_faces, mask_ws  # noqa: F401 (mask_ws is a fixture)
from faceswap.cli.main import cli
from faceswap.faceset.store import FaceSet, read_record
from faceswap.segment.session import MaskTrainRequest, prepare_mask_training
from faceswap.segment.truth import fill_polygons
from faceswap.train.loop import TrainSettings, forward_backward
from faceswap.train.step import to_device
from faceswap.workspace import Workspace


def run(ws, *args):
    return CliRunner().invoke(cli, ["--workspace", str(ws), "--device", "cpu", *args])


def _hull(points: np.ndarray) -> np.ndarray:
    """The user's idea of the face in this test: the 68 points' hull, no forehead (say, a fringe)."""
    return cv2.convexHull(points.astype(np.float32))[:, 0]


def _label(ws, tmp_path, names_points) -> None:
    faces = {name: [{"kind": "include", "points": _hull(points).tolist()}] for name, points in names_points}
    (tmp_path / "labels.json").write_text(json.dumps({"faces": faces}))
    result = run(ws, "mask", "label", "src", str(tmp_path / "labels.json"))
    assert result.exit_code == 0, result.output


def _sibling_iou(ws, model: str | None, siblings) -> float:
    args = ["--model", model] if model else []
    result = run(ws, "mask", "apply", "src", "--as", "check", *args)
    assert result.exit_code == 0, result.output
    paths = FaceSet(ws / "facesets" / "src").face_paths()
    scores = []
    for k in siblings:
        record = read_record(paths[k])
        truth = fill_polygons(record.size, [("include", _hull(points_of(record)))])
        scores.append(iou(record.mask("check"), truth))
    return float(np.mean(scores))


def points_of(record):
    from faceswap.align.umeyama import apply

    return apply(record.matrix, record.landmarks)


@pytest.mark.slow
def test_fine_tuning_on_three_labelled_faces_improves_their_siblings(mask_ws, tmp_path):
    _, points, _ = load_faces(mask_ws / "facesets" / "src")
    paths = FaceSet(mask_ws / "facesets" / "src").face_paths()
    labelled, siblings = [0, 3, 6], [1, 2, 4, 5, 7]
    _label(mask_ws, tmp_path, [(paths[k].name, points[k]) for k in labelled])
    before = _sibling_iou(mask_ws, None, siblings)
    result = run(mask_ws, "mask", "train", "--faces", "src", "--name", "mine", "--iters", "40", "--batch", "4",
                 "--lr", "1e-3", "--workers", "0", "--seed", "1", "--preview-every", "20", "-O", "sample.occlude=0.5")
    assert result.exit_code == 0, result.output
    assert "trained iterations 0..40" in result.output
    after = _sibling_iou(mask_ws, "mine", siblings)
    assert after >= before + 0.04, f"sibling IoU {before:.3f} -> {after:.3f}"
    folder = mask_ws / "models" / "mine"
    assert (folder / "previews" / "iter_0000020.png").is_file() and (folder / "loss.png").is_file()
    info = json.loads((folder / "model.json").read_text())
    assert info["kind"] == "masker" and info["truth"] == "labels" and info["init"].startswith("generic")


def test_a_run_resumes_where_it_stopped(mask_ws, tmp_path):
    _, points, _ = load_faces(mask_ws / "facesets" / "src")
    paths = FaceSet(mask_ws / "facesets" / "src").face_paths()
    _label(mask_ws, tmp_path, [(paths[0].name, points[0])])
    common = ["mask", "train", "--faces", "src", "--name", "resumed", "--batch", "2", "--workers", "0",
              "--preview-every", "0", "--seed", "3"]
    assert run(mask_ws, *common, "--iters", "2").exit_code == 0
    result = run(mask_ws, *common, "--iters", "3")
    assert result.exit_code == 0, result.output
    assert "trained iterations 2..3" in result.output
    trainer = json.loads((mask_ws / "models" / "resumed" / "trainer.json").read_text())
    assert trainer["iteration"] == 3 and (mask_ws / "models" / "resumed" / "backups").is_dir()


def test_training_needs_labels_or_synthetic_and_refuses_a_swap_model(mask_ws, model_ws):
    result = run(mask_ws, "mask", "train", "--faces", "src", "--iters", "1", "--workers", "0")
    assert result.exit_code == 1 and "face set 'src' has no labelled faces" in result.output
    assert result.output.count("\n") == 1
    result = run(mask_ws, "mask", "train", "--faces", "src", "--synthetic", "--iters", "1", "--batch", "2",
                 "--workers", "0", "--init", "none", "--name", "fromscratch", "--preview-every", "0")
    assert result.exit_code == 0, result.output
    result = run(mask_ws, "train", "--name", "fromscratch", "--iters", "1")
    assert result.exit_code == 1 and "model 'fromscratch' is a mask model" in result.output
    result = run(model_ws, "mask", "train", "--faces", "src", "--synthetic", "--name", "sae", "--iters", "1")
    assert result.exit_code == 1 and "swap model, not a mask model" in result.output


def test_a_timed_run_trains_on_past_the_swap_trainers_plain_input_phase(mask_ws, registry, cpu):
    # a --minutes run with a cosine decay is planned by its time (train/budget.py); the swap trainer then feeds
    # unwarped targets as inputs for the last 30%, which a segment sample (its target is the mask) cannot be
    request = MaskTrainRequest(faces=("src",), name="timed", synthetic=True, init="none", workers=0,
                               settings=TrainSettings(batch=2, lr=5e-4, lr_schedule="cosine", minutes=1.0))
    run = prepare_mask_training(request, Workspace(mask_ws), registry, cpu).run
    run.settings = dataclasses.replace(run.settings, schedule_span=(0, 10))     # as the time plan sets it
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    terms = forward_backward(run, to_device(next(run.batches), run.device), scaler, 9)     # 90% of the decay
    assert torch.isfinite(terms["mask_bce"])
