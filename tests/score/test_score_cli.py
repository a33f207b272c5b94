"""``faceswap score`` as a user meets it: one-line errors, and a report a browser shows."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import VIDEO, cut
from faceswap.cli.main import cli


@pytest.fixture(scope="module")
def ws(tmp_path_factory, facesets_root) -> Path:
    ws = tmp_path_factory.mktemp("score_cli") / "ws"
    shutil.copytree(facesets_root / "facesets", ws / "facesets")     # 'src' (AOC) and 'dst' (Katie)
    return ws


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("score_clips")
    return {
        "aoc": cut(VIDEO / "katie_hill__hdtf_wda_000.mp4", root / "katie20.mp4", 2.0, 20),
        "short": cut(VIDEO / "katie_hill__hdtf_wda_000.mp4", root / "katie15.mp4", 2.0, 15),
        "no_face": cut(VIDEO / "foreman__cif_h264_conformance.mp4", root / "pan.mp4", 7.5, 12, copy_audio=False),
    }


def run(ws: Path, *args: str):
    return CliRunner().invoke(cli, ["--workspace", str(ws), "--device", "cpu", "score", *map(str, args)])


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_different_frame_counts_are_refused_before_any_work(ws, clips):
    line = one_line_error(run(ws, clips["aoc"], clips["short"]))
    assert "20 frames" in line and "15" in line
    assert not (ws / "facesets" / "katie20").exists()


def test_missing_face_sets_are_named(ws, clips):
    assert "'nobody'" in one_line_error(run(ws, clips["aoc"], clips["aoc"], "--src", "nobody"))
    assert "'gone'" in one_line_error(run(ws, clips["aoc"], clips["aoc"], "--dst", "gone"))


def test_video_without_faces_says_so(ws, clips):
    assert "no face" in one_line_error(run(ws, clips["no_face"], clips["no_face"])).lower()


def test_report_is_self_contained_and_ordered(ws, clips, tmp_path):
    out = tmp_path / "report"
    result = run(ws, clips["aoc"], clips["aoc"], "--every", "5", "-o", out)
    assert result.exit_code == 0, result.output
    assert "identity" in result.output and f"report -> {out / 'report.html'}" in result.output
    page = (out / "report.html").read_text()
    assert page.index("<table class='figures'>") < page.index("Per frame") < page.index("Worst faces")
    assert not re.search(r"(src|href)=['\"]?https?:", page), "the page must not load anything from the network"
    assert page.count("data:image/jpeg;base64,") >= 4 and page.count("<svg") >= 8
    data = json.loads((out / "report.json").read_text())
    assert data["faces_scored"] == 4
    assert {f["retrieved"] for f in data["faces"]} <= {"katie20", "dst"}, "Katie's faces retrieve Katie's sets"
    assert data["summary"]["top1_source"] == 0.0                # the source, 'src', is AOC


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (apt install chromium)")
def test_report_renders_in_a_real_browser(ws, clips, tmp_path):
    out = tmp_path / "report"
    assert run(ws, clips["aoc"], clips["aoc"], "--every", "5", "-o", out).exit_code == 0
    shot = tmp_path / "report.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1800",
                    f"--screenshot={shot}", (out / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    import cv2

    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (1800, 1200)
    # rendered, not blank: text, plots and face thumbnails give a page of varied pixels
    assert image.std() > 20 and (image < 100).mean() > 0.01
