"""Issue 14.4: odd frame sizes encode (or are refused up front with the reason)."""
from __future__ import annotations

import subprocess

import pytest

from cliruns import error_lines, run_cli
from conftest import VIDEO
from faceswap.media.ffmpeg_tool import ffmpeg_exe
from faceswap.media.probe import probe


@pytest.fixture
def odd_clip(tmp_path):
    """10 frames of real footage shrunk and padded to 301x241, stored as 4:4:4."""
    out = tmp_path / "odd.mp4"
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(VIDEO / "aoc__hdtf_wda_000.mp4"),
                    "-frames:v", "10", "-vf", "scale=241:241,pad=301:241:30:0", "-pix_fmt", "yuv444p", "-c:v", "libx264",
                    "-preset", "ultrafast", "-an", str(out)], check=True)
    return out


def test_odd_sized_444_video_merges_at_its_own_size(model_ws, odd_clip, tmp_path):
    out = tmp_path / "odd_swapped.mp4"
    result = run_cli(model_ws, "merge", str(odd_clip), "-o", str(out), "--preset", "ultrafast")
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (301, 241, 10)


def test_codec_that_cannot_encode_odd_sizes_is_refused_before_any_work(model_ws, odd_clip, tmp_path):
    out = tmp_path / "odd_swapped.avi"
    result = run_cli(model_ws, "merge", str(odd_clip), "-o", str(out), "--codec", "libxvid")
    assert result.exit_code == 1, result.output
    [line] = error_lines(result.output)
    assert "301x241" in line and "libxvid" in line and "--codec libx264" in line, line
    assert not (model_ws / "facesets" / "odd").exists(), "refused before extracting anything"
