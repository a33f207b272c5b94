"""When each frame of a video is shown, read from its packets without decoding them.

``ffmpeg -copyts -i X -map 0:v:0 -c copy -f framecrc -`` prints one line per video packet with its
presentation time, at stream-copy speed, and works with the ffmpeg binary alone (no ffprobe).
Decoding with ``-fps_mode passthrough`` yields exactly one frame per packet, in presentation
order, so frame ``i`` is shown at the ``i``-th smallest time. The same pass counts the frames
and catches the demuxer's complaints about a file that ends before its index says it should.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from faceswap.media.ffmpeg_tool import ffmpeg_path, last_error_line, run_ffmpeg
from faceswap.types import FrameTimes

DAMAGE_WORDS = ("partial file", "ended prematurely", "runcat", "corrupt", "Invalid data", "nvalid NAL")
NO_PTS = -(2 ** 63)           # what framecrc prints for a packet without a timestamp
_DISCARD_FLAG = 0x4           # AV_PKT_FLAG_DISCARD: demuxed but never shown (e.g. cut by an edit list)


@dataclass(frozen=True)
class PacketScan:
    """What one stream-copy pass over the first video stream found."""

    frame_count: int
    times: FrameTimes | None      # None when the packets carry no usable timestamps
    problem: str                  # ffmpeg's complaint when the file is cut short or damaged, else ""


def scan_video_packets(path: Path, start: float) -> PacketScan:
    """Count the frames of ``path`` and read their times (seconds from ``start``, the file's start time)."""
    result = run_ffmpeg(["-hide_banner", "-nostdin", "-loglevel", "error", "-copyts", "-i", ffmpeg_path(path),
                         "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"])
    time_base, pts, durations = _parse_framecrc(result.stdout)
    problem = last_error_line(result.stderr, DAMAGE_WORDS) if result.stderr.strip() else ""
    if result.returncode != 0 and not pts:
        problem = problem or "ffmpeg could not read its video packets"
    return PacketScan(len(pts), _frame_times(pts, durations, time_base, start), problem)


def _parse_framecrc(text: str) -> tuple[Fraction, list[int], list[int]]:
    """(time base, pts of each shown packet, their durations) from framecrc output."""
    time_base = Fraction(0)
    pts: list[int] = []
    durations: list[int] = []
    for line in text.splitlines():
        if line.startswith("#tb 0:"):
            time_base = Fraction(line.split(":", 1)[1].strip())
            continue
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        flags = next((int(f[2:], 16) for f in fields[6:] if f.startswith("F=")), 0)
        if flags & _DISCARD_FLAG:
            continue
        pts.append(int(fields[2]))
        durations.append(int(fields[3]))
    return time_base, pts, durations


def _frame_times(pts: list[int], durations: list[int], time_base: Fraction, start: float) -> FrameTimes | None:
    if not pts or time_base <= 0 or NO_PTS in pts:
        return None
    order = sorted(range(len(pts)), key=pts.__getitem__)
    ticks = [pts[i] for i in order]
    if len(set(ticks)) != len(ticks):
        return None               # two frames at one time: no order to keep
    last = ticks[-1] + max(durations[order[-1]], 1)
    seconds = [float(t * time_base) - start for t in ticks]
    return FrameTimes(tuple(seconds), float(last * time_base) - start, time_base)
