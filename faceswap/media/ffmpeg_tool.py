"""Locate ffmpeg/ffprobe and run them with list arguments.

ffmpeg comes from the system when present, else from the binary the imageio-ffmpeg
wheel ships, so a fresh machine needs no system package. That wheel has no ffprobe,
so probing falls back to parsing ``ffmpeg -i`` (see probe.py).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache

from faceswap.errors import InputError


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: $FACESWAP_FFMPEG, the system's, or imageio-ffmpeg's."""
    override = os.environ.get("FACESWAP_FFMPEG")
    if override:
        return override
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg
    except ImportError:
        raise InputError("ffmpeg not found: install it (apt install ffmpeg) or pip install imageio-ffmpeg") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


@lru_cache(maxsize=1)
def ffprobe_exe() -> str | None:
    """Path of ffprobe beside the chosen ffmpeg, or on PATH; None when absent."""
    beside = os.path.join(os.path.dirname(ffmpeg_exe()), "ffprobe")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("ffprobe")


def run_ffmpeg(args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg (``args`` without the executable) and capture its output as text."""
    return subprocess.run(
        [ffmpeg_exe(), *args], capture_output=True, text=True, errors="replace",
        timeout=timeout, stdin=subprocess.DEVNULL, check=False,
    )


def last_error_line(stderr: str) -> str:
    """The most telling line of an ffmpeg error output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if "rror" in line or "nvalid" in line or "No such" in line:
            return line
    return lines[-1] if lines else "unknown ffmpeg error"
