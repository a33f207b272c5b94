"""``faceswap merge`` end to end on a real clip with a tiny trained model."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from textwrap import dedent

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import VIDEO, cut
from faceswap.align.template import face_matrix
from faceswap.cli.main import cli
from faceswap.faceset.store import FaceSet
from faceswap.media.image import read_image
from faceswap.media.probe import probe, read_tags
from faceswap.media.video import open_source
from faceswap.merge.outputs import PROVENANCE_KEY
from faceswap.train.session import run_training
from faceswap.workspace import Workspace
from tiny import tiny_request


@pytest.fixture
def ws(model_ws) -> Path:
    """A workspace of this test's own: face sets and a tiny model (tests/conftest.py)."""
    return model_ws


def run(ws: Path, *args: str):
    return CliRunner().invoke(cli, ["--workspace", str(ws), "--device", "cpu", *args])


def test_merged_video_keeps_timing_audio_and_says_it_was_made_with_faceswap(ws, talking_frames):
    out = ws / "out.mp4"
    result = run(ws, "merge", str(talking_frames), "-o", str(out), "--crf", "23", "--preset", "ultrafast")
    assert result.exit_code == 0, result.output
    assert "25 frames merged, 25 faces swapped" in result.output
    src, dst = probe(talking_frames), probe(out)
    assert (dst.width, dst.height, dst.fps, dst.frame_count) == (src.width, src.height, src.fps, src.frame_count)
    assert dst.duration == pytest.approx(src.duration, abs=0.05)
    assert dst.has_audio
    tags = read_tags(out)
    assert "made with faceswap" in tags["comment"].lower()
    assert "faces in this video were swapped" in tags[PROVENANCE_KEY]
    assert not list(ws.glob("**/.*partial*")) and not list(out.parent.glob(".*partial*"))


def test_only_face_regions_change(ws, talking_frames, tmp_path):
    frames_dir = tmp_path / "frames"
    result = run(ws, "merge", str(talking_frames), "--frames-out", str(frames_dir), "--color", "none")
    assert result.exit_code == 0, result.output
    records = {r.frame_index: r for _, r in FaceSet(ws / "facesets" / "aoc25").records()}
    originals = {f.index: f.image for f in open_source(talking_frames).frames()}
    assert len(list(frames_dir.glob("frame_*.png"))) == 25
    for index in (0, 12, 24):
        merged = read_image(frames_dir / f"frame_{index:06d}.png")
        before = originals[index]
        region = _face_region(records[index].landmarks, before.shape, margin=12)
        changed = np.any(merged != before, axis=2)
        assert not changed[~region].any(), "pixels outside the dilated face region changed"
        x, y = records[index].landmarks[30].astype(int)       # nose tip
        patch = (slice(y - 10, y + 10), slice(x - 10, x + 10))
        assert np.abs(merged[patch].astype(int) - before[patch].astype(int)).mean() > 2


def _face_region(points: np.ndarray, shape: tuple[int, ...], margin: int) -> np.ndarray:
    """Frame pixels inside the model crop of these landmarks, grown by ``margin``."""
    import cv2

    matrix = face_matrix(points, 64, 1.6)
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [64, 0], [64, 64], [0, 64]], np.float64) @ inverse[:, :2].T + inverse[:, 2]
    region = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(region, np.round(corners).astype(np.int32), 1)
    region = cv2.dilate(region, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    return region.astype(bool)


def test_video_without_audio_and_face_set_made_on_the_fly(ws, tmp_path):
    clip = cut(VIDEO / "obama__weekly_address.mp4", tmp_path / "obama10.mp4", start=0, frames=10, copy_audio=False)
    out = tmp_path / "obama_swapped.mp4"
    result = run(ws, "merge", str(clip), "-o", str(out), "--preset", "ultrafast")
    assert result.exit_code == 0, result.output
    assert (ws / "facesets" / "obama10" / "faceset.json").is_file()
    info = probe(out)
    assert info.frame_count == 10 and not info.has_audio


def test_preview_frame_writes_before_and_after(ws, talking_frames, tmp_path):
    out = tmp_path / "preview.png"
    result = run(ws, "merge", str(talking_frames), "--preview-frame", "7", "-o", str(out))
    assert result.exit_code == 0, result.output
    image = read_image(out)
    assert image.shape == (512, 1024, 3)
    assert not np.array_equal(image[:, :512], image[:, 512:])


def test_model_of_another_resolution_merges(ws, talking_frames, registry, cpu, tmp_path):
    request = tiny_request(1, name="res96", model_options={"resolution": 96, "ae_dims": 32, "e_dims": 8,
                                                            "d_dims": 8, "d_mask_dims": 4})
    run_training(request, Workspace(ws), registry, cpu)
    frames_dir = tmp_path / "frames96"
    result = run(ws, "merge", str(talking_frames), "--model", "res96", "--frames-out", str(frames_dir))
    assert result.exit_code == 0, result.output
    assert len(list(frames_dir.glob("*.png"))) == 25


ONE_DECODER = dedent('''
    import torch
    from torch import nn
    from faceswap.model_api import Encoded, FaceModel, ModelOptions
    from faceswap.plugin_api import API_VERSION

    class Blur(FaceModel):
        name = "blur"
        version = "1.0"
        api_version = API_VERSION
        decoder_count = 1
        Options = ModelOptions

        def __init__(self, options, device=None):
            super().__init__(options, device)
            self.conv = nn.Conv2d(3, 3, 3, padding=1)

        def encode(self, x):
            return Encoded(self.conv(x))

        def decode(self, code, decoder):
            return torch.sigmoid(code), torch.ones_like(code[:, :1])
''')


def test_wrong_model_kind_and_missing_model_fail_clearly(ws, talking_frames):
    result = run(ws, "merge", str(talking_frames), "--model", "nothing-here")
    assert result.exit_code == 1 and "error: no model at" in result.output
    import torch
    from faceswap.plugin_trust import TrustStore, default_trust_file
    from faceswap.registry import Registry
    from faceswap.runtime.device import resolve_device
    from faceswap.train.checkpoint import TrainerState, save_checkpoint

    (ws / "plugins").mkdir(exist_ok=True)
    (ws / "plugins" / "blur.py").write_text(ONE_DECODER)
    assert run(ws, "plugins", "trust", "blur.py").exit_code == 0
    trust = TrustStore(default_trust_file())
    model = Registry.discover(ws / "plugins", trust=trust).create("model", "blur", {}, resolve_device("cpu"))
    save_checkpoint(ws / "models" / "blurry", {"plugin": "blur", "options": {"resolution": 64, "coverage": 1.6}},
                    model, torch.optim.AdamW(model.parameters()), TrainerState())
    result = run(ws, "merge", str(talking_frames), "--model", "blurry")
    assert result.exit_code == 1 and "cannot swap faces" in result.output


FAILING_BLENDER = dedent('''
    from faceswap.plugin_api import API_VERSION, Blender

    class Flaky(Blender):
        name = "flaky"
        version = "1.0"
        api_version = API_VERSION
        calls = 0

        def blend(self, frame, face, mask):
            Flaky.calls += 1
            if Flaky.calls > 10:
                raise RuntimeError("disk on fire")
            return frame.copy()
''')


def test_interrupted_merge_leaves_no_output(ws, talking_frames):
    (ws / "plugins").mkdir(exist_ok=True)
    (ws / "plugins" / "flaky.py").write_text(FAILING_BLENDER)
    assert run(ws, "plugins", "trust").exit_code == 0
    out = ws / "output" / "never.mp4"
    result = run(ws, "merge", str(talking_frames), "--blender", "flaky", "-o", str(out))
    assert result.exit_code == 2 and "disk on fire" in result.output
    assert not out.exists() and not list(out.parent.glob(".*partial*"))


def test_ref_swaps_only_the_chosen_person(ws, tmp_path):
    from conftest import GROUP, PHOTOS
    from faceswap.media.ffmpeg_tool import ffmpeg_exe

    clip = tmp_path / "two_people.mp4"        # a 5-frame video of a real photo of two people
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-loop", "1", "-i", str(GROUP / "two_people.jpg"),
                    "-frames:v", "5", "-r", "5", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-c:v", "libx264",
                    "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(clip)], check=True)
    both = run(ws, "merge", str(clip), "--preview-frame", "2", "-o", str(tmp_path / "both.png"))
    assert both.exit_code == 0 and "2 faces swapped" in both.output, both.output
    one = run(ws, "merge", str(clip), "--preview-frame", "2", "-o", str(tmp_path / "one.png"),
              "--ref", str(PHOTOS / "biden" / "biden2.jpg"))
    assert one.exit_code == 0 and "1 faces swapped" in one.output, one.output


@pytest.mark.slow
def test_merge_scores_its_output_unless_told_not_to(ws, talking_frames):
    out = ws / "output" / "scored.mp4"
    result = run(ws, "merge", str(talking_frames), "-o", str(out), "--preset", "ultrafast", "--score-every", "10")
    assert result.exit_code == 0, result.output
    quality = [line for line in result.output.splitlines() if line.startswith("quality:")]
    assert quality and "identity" in quality[0] and "pose err" in quality[0] and "sharpness" in quality[0]
    report = json.loads((ws / "output" / "scored.report" / "report.json").read_text())
    assert report["faces_scored"] == 3 and report["every"] == 10            # frames 0, 10, 20
    assert report["source_sets"] == ["src"] and report["destination_set"] == "aoc25"
    assert report["summary"]["pose_error"]["n"] == 3
    assert (ws / "output" / "scored.report" / "report.html").is_file()
    plain = ws / "output" / "plain.mp4"
    assert run(ws, "merge", str(talking_frames), "-o", str(plain), "--no-report").exit_code == 0
    assert plain.is_file() and not (ws / "output" / "plain.report").exists()


@pytest.mark.slow
def test_auto_extraction_uses_the_plugins_the_model_was_trained_with(tmp_path, mediapipe_plugins, registry, cpu,
                                                                      talking_frames):
    from faceswap.extract.pipeline import ExtractSettings, extract

    ws = tmp_path / "apache"
    for name, clip in (("src", "aoc__hdtf_wda_000.mp4"), ("dst", "katie_hill__hdtf_wda_000.mp4")):
        extract(VIDEO / clip, FaceSet(ws / "facesets" / name), mediapipe_plugins, ExtractSettings(every=25, face_size=128))
    run_training(tiny_request(1), Workspace(ws), registry, cpu)
    result = run(ws, "merge", str(talking_frames), "--frames-out", str(tmp_path / "frames"), "--no-report")
    assert result.exit_code == 0, result.output
    used = {p["kind"]: p["name"] for p in FaceSet(ws / "facesets" / "aoc25").read_manifest().plugins}
    assert used == {"detector": "blazeface", "landmarker": "facemesh", "masker": "hull"}, "no insightface model ran"


@pytest.mark.slow
def test_onnx_export_swaps_like_torch_and_knows_when_it_is_stale(ws, talking_frames, tmp_path, registry, cpu):
    result = run(ws, "export", "sae", "--onnx")
    assert result.exit_code == 0, result.output
    assert (ws / "models" / "sae" / "swap.onnx").is_file()
    frames = {}
    for engine in ("torch", "onnx"):
        out = tmp_path / engine
        result = run(ws, "merge", str(talking_frames), "--frames-out", str(out), "--engine", engine, "--no-report",
                     "--no-smooth")
        assert result.exit_code == 0, result.output
        frames[engine] = [read_image(p).astype(int) for p in sorted(out.glob("*.png"))[:5]]
    assert max(np.abs(a - b).max() for a, b in zip(frames["torch"], frames["onnx"])) <= 2
    run_training(tiny_request(6), Workspace(ws), registry, cpu)         # the weights move on
    stale = run(ws, "merge", str(talking_frames), "--frames-out", str(tmp_path / "stale"), "--engine", "onnx")
    assert stale.exit_code == 1 and "exported from other weights" in stale.output
    assert run(ws, "merge", str(talking_frames), "--frames-out", str(tmp_path / "auto"), "--no-report").exit_code == 0


def test_sharpen_changes_the_swapped_face_only_and_keeps_its_colours(ws, talking_frames, tmp_path):
    import cv2

    images = {}
    for amount in ("0", "1.5"):
        out = tmp_path / f"sharpen_{amount}.png"
        result = run(ws, "merge", str(talking_frames), "--preview-frame", "7", "--sharpen", amount, "-o", str(out))
        assert result.exit_code == 0, result.output
        images[amount] = read_image(out).astype(np.float32)
    before, plain, sharp = images["0"][:, :512], images["0"][:, 512:], images["1.5"][:, 512:]
    swapped = cv2.dilate(np.any(before != plain, axis=2).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    difference = np.abs(plain - sharp).max(axis=2)
    # a level of rounding where the feathered mask is ~0 is not a change
    assert not (difference > 1)[~swapped].any(), "sharpening reached beyond the swapped face"
    assert (difference >= 3).sum() > 100, "sharpening changed nothing"
    assert np.abs((sharp - plain)[swapped].mean(axis=0)).max() < 1.0, "sharpening shifted the face's colours"
