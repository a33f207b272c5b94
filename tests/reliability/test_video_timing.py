"""Issue 14.3: variable frame rate footage keeps every frame at its own time, in sync with the audio."""
from __future__ import annotations

import subprocess

import pytest

from cliruns import run_cli, video_packet_times
from conftest import VIDEO
from faceswap.media.ffmpeg_tool import ffmpeg_exe
from faceswap.media.probe import probe


def _vfr_clip(out):
    """Real talking-head footage whose frame rate drops from 25 to ~8 fps after one second, with audio."""
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(VIDEO / "aoc__hdtf_wda_000.mp4"),
                    "-t", "2.4", "-vf", r"select='lt(n\,25)+not(mod(n\,3))'", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-c:a", "aac", str(out)], check=True)
    return out


def test_variable_frame_rate_video_keeps_its_frame_times(model_ws, tmp_path):
    clip = _vfr_clip(tmp_path / "phone.mp4")
    times = video_packet_times(clip)
    steps = {round(b - a, 3) for a, b in zip(times, times[1:])}
    assert {0.04, 0.12} <= steps, steps                  # really variable
    out = tmp_path / "phone_swapped.mp4"
    result = run_cli(model_ws, "merge", str(clip), "-o", str(out), "--preset", "ultrafast")
    assert result.exit_code == 0, result.output
    merged = video_packet_times(out)
    assert len(merged) == len(times)
    drift = max(abs(a - b) for a, b in zip(times, merged))
    assert drift < 0.002, f"frames moved by up to {drift:.3f} s"
    assert probe(out).has_audio
    assert probe(out).duration == pytest.approx(probe(clip).duration, abs=0.05)
