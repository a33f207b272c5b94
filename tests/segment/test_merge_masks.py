"""Merge and train with the stored `segment` mask: a swap stays off what covers the face."""
from __future__ import annotations

import json
import subprocess

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import VIDEO, cut
from faceswap.cli.main import cli
from faceswap.errors import OptionError
from faceswap.media.ffmpeg_tool import ffmpeg_exe
from faceswap.media.image import read_image, write_image
from faceswap.media.video import open_source
from faceswap.merge.masks import MaskMode, parse_mask_mode


def run(ws, *args):
    return CliRunner().invoke(cli, ["--workspace", str(ws), "--device", "cpu", *args])


def test_mask_modes_parse():
    assert parse_mask_mode("intersect") == MaskMode("", True)
    assert parse_mask_mode("predicted") == MaskMode(None, True)
    assert parse_mask_mode("segment") == MaskMode("segment", False)
    assert parse_mask_mode("segment+predicted") == parse_mask_mode("predicted+segment") == MaskMode("segment", True)
    for bad in ("a+b", "segment+predicted+x", "", "+predicted", "intersect+predicted"):
        with pytest.raises(OptionError):
            parse_mask_mode(bad)


@pytest.fixture(scope="module")
def occluded_clip(tmp_path_factory, insightface_plugins):
    """5 real frames of Katie Hill with a bar (a microphone stand) pasted across her mouth; and the
    bar's pixels in the frame."""
    folder = tmp_path_factory.mktemp("occluded")
    clip = cut(VIDEO / "katie_hill__hdtf_wda_000.mp4", folder / "plain.mp4", start=0.0, frames=5, copy_audio=False)
    frames = [f.image for f in open_source(clip).frames()]
    det = insightface_plugins.detector.detect(frames[:1])
    points = insightface_plugins.landmarker.landmarks(frames[:1], det)[0][0].points
    bar = np.zeros(frames[0].shape[:2], np.uint8)
    mouth, width = points[48:68].mean(0), np.linalg.norm(points[16] - points[0])
    start, end = mouth + [-0.9 * width, 0.35 * width], mouth + [0.9 * width, -0.15 * width]
    cv2.line(bar, tuple(int(v) for v in start), tuple(int(v) for v in end), 255, int(0.12 * width))
    for k, frame in enumerate(frames):
        out = frame.copy()
        out[bar > 0] = (40, 40, 45)
        write_image(folder / f"{k:03d}.png", out)
    video = folder / "occluded.mp4"
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-framerate", "25", "-i",
                    str(folder / "%03d.png"), "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv444p", str(video)],
                   check=True)
    return video, bar > 0


@pytest.mark.slow
def test_merge_under_the_segment_mask_leaves_the_occluder_alone(model_ws, occluded_clip, tmp_path):
    video, bar = occluded_clip
    result = run(model_ws, "extract", str(video), "--masker", "extended", "--masker", "segment")
    assert result.exit_code == 0, result.output
    # a merge session (the UI tuner's file) whose range over frame 2 names the stored mask, as --mask does
    session = tmp_path / "session.json"
    session.write_text(json.dumps({"format": "faceswap-merge-session", "schema": 1, "settings": {"mask": "intersect"},
                                   "ranges": [{"start": 2, "end": 2, "settings": {"mask": "segment+predicted"}}]}))
    changed, shots = {}, {}
    for mode, extra in (("intersect", ("--mask", "intersect")), ("segment+predicted", ("--mask", "segment+predicted")),
                        ("segment", ("--mask", "segment")), ("session", ("--session", str(session)))):
        out = tmp_path / f"{mode}.png"
        result = run(model_ws, "merge", str(video), "--preview-frame", "2", "-o", str(out), *extra)
        assert result.exit_code == 0, result.output
        pair = shots[mode] = read_image(out)
        before, after = pair[:, :pair.shape[1] // 2], pair[:, pair.shape[1] // 2:]
        changed[mode] = float(np.abs(after.astype(int) - before)[bar].mean())
    assert changed["intersect"] > 4, changed          # the hull-based default paints over the bar
    assert changed["segment+predicted"] < changed["intersect"] / 3, changed
    assert changed["segment"] < changed["intersect"] / 3, changed
    assert np.array_equal(shots["session"], shots["segment+predicted"]), "the session's range uses the stored mask"


def test_merge_asks_for_a_stored_mask_a_face_set_lacks(model_ws, talking_frames):
    result = run(model_ws, "merge", str(talking_frames), "--faceset", "src", "--mask", "segment", "--preview-frame", "0")
    assert result.exit_code == 1
    assert "8 faces of face set 'src' have no 'segment' mask: run 'faceswap mask apply src" in result.output
    assert result.output.count("\n") == 1


def test_merge_session_asks_for_a_stored_mask_a_face_set_lacks(model_ws, talking_frames, tmp_path):
    session = tmp_path / "session.json"         # only a range names the mask: merge still checks before any work
    session.write_text(json.dumps({"format": "faceswap-merge-session", "schema": 1, "settings": {"mask": "intersect"},
                                   "ranges": [{"start": 5, "end": 9, "settings": {"mask": "segment+predicted"}}]}))
    result = run(model_ws, "merge", str(talking_frames), "--faceset", "src", "--session", str(session),
                 "--preview-frame", "0")
    assert result.exit_code == 1
    assert "8 faces of face set 'src' have no 'segment' mask" in result.output
    assert result.output.count("\n") == 1
    result = run(model_ws, "merge", str(talking_frames), "--mask", "segment+hull")
    assert result.exit_code == 1 and "--mask 'segment+hull'" in result.output


def test_training_can_take_the_segment_mask_as_its_loss_mask(model_ws):
    from faceswap.faceset.store import FaceSet, read_record
    from faceswap.train.samples import SampleConfig, load_face

    common = ["train", "--iters", "1", "--batch", "2", "--workers", "0", "--preview-every", "0",
              "-O", "model.resolution=64", "-O", "model.ae_dims=32", "-O", "model.e_dims=8", "-O", "model.d_dims=8",
              "-O", "model.d_mask_dims=4", "--name", "withsegment", "-O", "sample.mask=segment"]
    result = run(model_ws, *common)
    assert result.exit_code == 1
    assert "face set 'src' has no 'segment' mask" in result.output and result.output.count("\n") == 1
    for name in ("src", "dst"):
        assert run(model_ws, "mask", "apply", name).exit_code == 0
    result = run(model_ws, *common)
    assert result.exit_code == 0, result.output
    path = FaceSet(model_ws / "facesets" / "src").face_paths()[0]
    face = load_face(path, SampleConfig(128, 2.2, mask="segment"))
    assert np.array_equal(face.mask, read_record(path).masks["segment"])
