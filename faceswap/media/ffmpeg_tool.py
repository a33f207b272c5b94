"""Locate ffmpeg/ffprobe and run them with list arguments.

ffmpeg comes from the system when present, else from the binary the imageio-ffmpeg
wheel ships, so a fresh machine needs no system package. That wheel has no ffprobe,
so probing falls back to parsing ``ffmpeg -i`` (see probe.py).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

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


def ffmpeg_path(path: Path | str) -> str:
    """``path`` as ffmpeg must be given a local file: ``file:`` + absolute path.

    ffmpeg reads ``clip:1.mp4`` as protocol "clip"; with the ``file:`` protocol named and an
    absolute path, any file name is a file name.
    """
    return "file:" + os.path.abspath(os.fspath(path))


def run_ffmpeg(args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg (``args`` without the executable) and capture its output as text."""
    return subprocess.run(
        [ffmpeg_exe(), *args], capture_output=True, text=True, errors="replace",
        timeout=timeout, stdin=subprocess.DEVNULL, check=False,
    )


def last_error_line(stderr: str, prefer: tuple[str, ...] = ()) -> str:
    """The most telling line of an ffmpeg error output: the last one holding a word of ``prefer``,
    else the last error-like one, with ffmpeg's ``[component @ 0x...]`` tags shortened."""
    lines = [_tidy(line) for line in stderr.splitlines() if line.strip()]
    for words in (prefer, ("rror", "nvalid", "No such")):
        for line in reversed(lines):
            if any(word in line for word in words):
                return line
    return lines[-1] if lines else "unknown ffmpeg error"


def first_error_line(stderr: str) -> str:
    """The first line of ffmpeg's output at ``-loglevel error``: usually the cause; later ones are consequences."""
    lines = [_tidy(line) for line in stderr.splitlines() if line.strip()]
    return lines[0] if lines else "unknown ffmpeg error"


_TAG = re.compile(r"\[([^\]]*?) @ 0x[0-9a-f]+\]\s*")


def _tidy(line: str) -> str:
    """'[vost#0:0/libx264 @ 0x5e] [enc:libx264 @ 0x5f] Error ...' -> 'libx264: Error ...'."""
    tags = _TAG.findall(line)
    text = _TAG.sub("", line).strip()
    if not tags:
        return text
    name = re.split(r"[/:]", tags[-1])[-1].split(",")[0]     # 'in#0/mov,mp4,m4a' -> 'mov'
    return f"{name}: {text}"
