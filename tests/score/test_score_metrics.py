"""The score's own tests: each metric moves the right way on real footage altered in a known way.

The original clip (AOC, 40 frames) scored against itself must come out perfect; a blurred
copy less sharp; a copy with another person's face pasted in closer to that person; a copy
whose face jumps a few pixels per frame less steady. Each test can fail.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import VIDEO, cut
from faceswap.align.template import face_matrix
from faceswap.align.warp import points_to_face, warp_to_face
from faceswap.cli.main import cli
from faceswap.extract.tracking import FaceFinder
from faceswap.media.image import write_image
from faceswap.media.video import open_source

FRAMES = 40
pytestmark = pytest.mark.slow       # four altered copies of a 40-frame clip, each scored


@pytest.fixture(scope="module")
def score_ws(tmp_path_factory, facesets_root) -> Path:
    """A workspace whose only face sets are Katie Hill ('katie') and AOC ('aoc')."""
    ws = tmp_path_factory.mktemp("score_ws") / "ws"
    (ws / "facesets").mkdir(parents=True)
    shutil.copytree(facesets_root / "facesets" / "dst", ws / "facesets" / "katie")
    shutil.copytree(facesets_root / "facesets" / "src", ws / "facesets" / "aoc")
    return ws


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return cut(VIDEO / "aoc__hdtf_wda_000.mp4", tmp_path_factory.mktemp("score_clip") / "aoc40.mp4", 1.0, FRAMES)


@pytest.fixture(scope="module")
def frames(clip) -> list[np.ndarray]:
    return [f.image for f in open_source(clip).frames()]


@pytest.fixture(scope="module")
def altered(tmp_path_factory, frames, insightface_plugins):
    """Write the clip's frames, and altered copies of them, as PNG folders (lossless)."""
    root = tmp_path_factory.mktemp("altered")
    rng = np.random.default_rng(3)
    katie = [f.image for f in open_source(VIDEO / "katie_hill__hdtf_wda_000.mp4").frames(every=5)][:FRAMES]
    finder = FaceFinder(insightface_plugins, 40, 1)
    versions = {
        "original": lambda i, image: image,
        "blurred": lambda i, image: cv2.GaussianBlur(image, (0, 0), 2.0),
        "jittered": lambda i, image: _shift(image, *rng.integers(-4, 5, 2)),
        "pasted": lambda i, image: _paste(image, katie[i % len(katie)], finder),
    }
    for name, alter in versions.items():
        folder = root / name
        folder.mkdir()
        for i, image in enumerate(frames):
            write_image(folder / f"{i:04d}.png", alter(i, image))
    return root


def _shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


def _paste(image: np.ndarray, donor: np.ndarray, finder: FaceFinder) -> np.ndarray:
    """A crude swap: the donor's face, aligned onto this face and blended under a soft hull."""
    size, coverage = 256, 1.6
    target = finder.find(image)[0].landmarks.points
    source = finder.find(donor)[0].landmarks.points
    to_face = face_matrix(source, size, coverage)
    face = warp_to_face(donor, to_face, size)
    mask = np.zeros((size, size), np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull(points_to_face(source, to_face).astype(np.int32)), 1.0)
    mask = cv2.GaussianBlur(cv2.erode(mask, np.ones((15, 15), np.uint8)), (0, 0), 6)
    back = cv2.invertAffineTransform(face_matrix(target, size, coverage))
    shape = image.shape[1::-1]
    warped = cv2.warpAffine(face, back, shape, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(mask, back, shape, flags=cv2.INTER_LINEAR)[..., None]
    return (image * (1 - alpha) + warped * alpha).round().astype(np.uint8)


def score(ws: Path, original: Path, swapped: Path, out: Path, *extra: str) -> dict:
    result = CliRunner().invoke(cli, ["--workspace", str(ws), "--device", "cpu", "score", str(original),
                                      str(swapped), "--src", "katie", "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text())


def mean(report: dict, key: str) -> float:
    return report["summary"][key]["mean"]


@pytest.fixture(scope="module")
def self_report(score_ws, clip, tmp_path_factory) -> dict:
    return score(score_ws, clip, clip, tmp_path_factory.mktemp("self") / "report", "--every", "5")


def test_original_against_itself_is_perfect(self_report):
    assert self_report["faces_scored"] == 8
    assert mean(self_report, "cos_original") == pytest.approx(1.0, abs=1e-3)
    assert mean(self_report, "pose_error") < 0.01
    assert mean(self_report, "expression_error") < 1e-4
    assert mean(self_report, "sharpness") == pytest.approx(1.0, abs=1e-4)
    assert mean(self_report, "jitter") == pytest.approx(1.0, abs=1e-4)
    assert mean(self_report, "flicker") == pytest.approx(1.0, abs=1e-4)
    assert self_report["summary"]["seam"]["n"] == 0, "nothing was blended, so there is no seam to measure"
    assert self_report["summary"]["closer_to_source"] == 0.0      # AOC is not Katie
    assert mean(self_report, "cos_destination") > 0.8


def test_blurred_copy_is_less_sharp(score_ws, altered, tmp_path, self_report):
    report = score(score_ws, altered / "original", altered / "blurred", tmp_path / "r", "--every", "5")
    assert mean(report, "sharpness") < 0.6
    assert mean(report, "pose_error") < 3.0          # the face is still where and how it was


def test_pasted_face_moves_identity_to_that_person(score_ws, altered, tmp_path, self_report):
    report = score(score_ws, altered / "original", altered / "pasted", tmp_path / "r", "--every", "5")
    assert mean(report, "cos_source") > mean(self_report, "cos_source") + 0.3
    assert report["summary"]["closer_to_source"] >= 0.75
    assert mean(report, "cos_original") < 0.7
    assert report["summary"]["seam"]["n"] > 0, "the pasted region's border is measured"


def test_face_that_jumps_between_frames_is_less_stable(score_ws, altered, tmp_path):
    report = score(score_ws, altered / "original", altered / "jittered", tmp_path / "r", "--every", "5")
    assert mean(report, "jitter") > 2.0
