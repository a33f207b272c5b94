"""Run faceswap's CLI in this process or as a real subprocess, and read results back independently."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from faceswap.cli.main import cli
from faceswap.media.ffmpeg_tool import ffmpeg_exe


def run_cli(workspace: Path, *args: str):
    """``faceswap --workspace W --device cpu ARGS`` in this process."""
    return CliRunner().invoke(cli, ["--workspace", str(workspace), "--device", "cpu", *args])


def faceswap_cmd(workspace: Path, *args: str) -> list[str]:
    """The same command line for a real subprocess."""
    return [sys.executable, "-m", "faceswap", "--workspace", str(workspace), "--device", "cpu", *args]


def wait_for_logged_steps(log: Path, proc: subprocess.Popen, err: Path, steps: int = 3, seconds: float = 180) -> None:
    """Wait until training ``proc`` has logged ``steps`` steps to ``log`` (loss.jsonl); it must still be running."""
    deadline = time.time() + seconds
    while time.time() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= steps):
        assert proc.poll() is None, err.read_text()
        time.sleep(0.05)


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def video_packet_times(path: Path) -> list[float]:
    """Presentation times (s) of every video packet, read independently of faceswap's own code."""
    out = subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
                          "-c", "copy", "-f", "framecrc", "-"], capture_output=True, text=True, check=True).stdout
    base = next(line for line in out.splitlines() if line.startswith("#tb 0:")).split(":")[1].strip()
    num, den = (int(x) for x in base.split("/"))
    rows = [line.split(",") for line in out.splitlines() if line and not line.startswith("#")]
    return sorted(int(row[2]) * num / den for row in rows)
