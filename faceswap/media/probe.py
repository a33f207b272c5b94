"""Probe a video: size, fps as a fraction, frame count and times, rotation, audio, damage.

Reads the stream facts with ffprobe when the system has it, otherwise from ``ffmpeg -i``;
frames are counted and timed by a stream copy of their packets (media/timestamps.py), which
works with the imageio-ffmpeg binary alone and notices a file that ends before its index does.
"""
from __future__ import annotations

import json
import re
import subprocess
from fractions import Fraction
from pathlib import Path

from faceswap.errors import InputError
from faceswap.media.ffmpeg_tool import ffmpeg_path, ffprobe_exe, last_error_line, run_ffmpeg
from faceswap.media.timestamps import scan_video_packets
from faceswap.types import VideoInfo

_VIDEO_RE = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_FPS_RE = re.compile(r"([\d.]+(?:k)?) (?:fps|tbr)")
_DURATION_RE = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")
_START_RE = re.compile(r"Duration: [^\n]*?start: (-?[\d.]+)")
_ROTATION_RE = re.compile(r"rotation of (-?[\d.]+) degrees")
_FRAMES_RE = re.compile(r"frame=\s*(\d+)")


def probe(path: Path) -> VideoInfo:
    """What the video at ``path`` holds; InputError with one line when it is not a video."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    if ffprobe_exe():
        return _probe_ffprobe(path)
    return _probe_ffmpeg(path)


def _not_a_video(path: Path, detail: str) -> InputError:
    return InputError(f"{path} is not a video ffmpeg can read ({detail})")


def _probe_ffmpeg(path: Path) -> VideoInfo:
    header = run_ffmpeg(["-hide_banner", "-nostdin", "-i", ffmpeg_path(path)]).stderr
    match = _VIDEO_RE.search(header)
    if not match:
        raise _not_a_video(path, last_error_line(header) if "Input #" not in header else "no video stream")
    codec, width, height = match.group(1), int(match.group(2)), int(match.group(3))
    video_line = header[match.start():].splitlines()[0]
    fps = _parse_fps(video_line)
    rotation = _parse_rotation(header[match.start():])
    duration = _parse_duration(header)
    start = float(m.group(1)) if (m := _START_RE.search(header)) else 0.0
    has_audio = re.search(r"Stream #\d+:\d+.*?: Audio:", header) is not None
    return _info(path, width, height, fps, duration, start, rotation, has_audio, codec)


def _probe_ffprobe(path: Path) -> VideoInfo:
    args = [ffprobe_exe(), "-v", "error", "-show_streams", "-show_format", "-of", "json", ffmpeg_path(path)]
    result = subprocess.run(args, capture_output=True, text=True, errors="replace", check=False, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise _not_a_video(path, last_error_line(result.stderr))
    data = json.loads(result.stdout or "{}")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None:
        raise _not_a_video(path, "no video stream")
    rate = video.get("avg_frame_rate") or video.get("r_frame_rate") or "0/1"
    fps = Fraction(rate) if rate not in ("0/0", "") else Fraction(0)
    rotation = 0
    for side in video.get("side_data_list", []):
        if "rotation" in side:
            rotation = -int(round(float(side["rotation"])))  # same sign as _parse_rotation
    container = data.get("format", {})
    duration = float(container.get("duration", 0) or 0)
    start = float(container.get("start_time", 0) or 0)
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    return _info(path, int(video["width"]), int(video["height"]), fps, duration, start, rotation,
                 has_audio, video.get("codec_name", ""))


def _info(path: Path, width: int, height: int, fps: Fraction, duration: float, start: float,
          rotation: int, has_audio: bool, codec: str) -> VideoInfo:
    scan = scan_video_packets(path, start)
    if scan.frame_count == 0:
        raise _not_a_video(path, scan.problem or "no video frames")
    damage = f"ffmpeg: {scan.problem}" if scan.problem else ""
    rotation = rotation % 360
    if rotation in (90, 270):     # ffmpeg autorotates when decoding
        width, height = height, width
    return VideoInfo(path, width, height, fps, scan.frame_count, duration, rotation, has_audio, codec,
                     damage=damage, times=scan.times)


def _parse_fps(video_line: str) -> Fraction:
    match = _FPS_RE.search(video_line)
    if not match:
        return Fraction(0)
    text = match.group(1)
    value = float(text[:-1]) * 1000 if text.endswith("k") else float(text)
    # ffmpeg prints 29.97 for 30000/1001: recover the NTSC-style fractions
    for base in (24, 30, 48, 60, 120):
        ntsc = Fraction(base * 1000, 1001)
        if abs(value - float(ntsc)) < 0.006:
            return ntsc
    return Fraction(value).limit_denominator(1000)


def _parse_rotation(stream_text: str) -> int:
    # only the first video stream's side data: stop at the next stream
    block = re.split(r"\n\s*Stream #", stream_text, maxsplit=1)[0]
    match = _ROTATION_RE.search(block)
    return -int(round(float(match.group(1)))) if match else 0


def _parse_duration(header: str) -> float:
    match = _DURATION_RE.search(header)
    if not match:
        return 0.0
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def read_tags(path: Path) -> dict[str, str]:
    """Container metadata tags (lower-case keys), with ffprobe when present, else from ``ffmpeg -i``."""
    if ffprobe_exe():
        result = subprocess.run([ffprobe_exe(), "-v", "error", "-show_format", "-of", "json", ffmpeg_path(path)],
                                capture_output=True, text=True, errors="replace", check=False)
        tags = json.loads(result.stdout or "{}").get("format", {}).get("tags", {})
        return {k.lower(): v for k, v in tags.items()}
    header = run_ffmpeg(["-hide_banner", "-nostdin", "-i", ffmpeg_path(path)]).stderr
    block = header.split("Metadata:", 1)[1] if "Metadata:" in header else ""
    tags: dict[str, str] = {}
    for line in block.splitlines()[1:]:
        if not line.startswith("    ") or line.strip().startswith(("Duration", "Stream")):
            break
        key, sep, value = line.strip().partition(":")
        if sep:
            tags[key.strip().lower()] = value.strip()
    return tags
