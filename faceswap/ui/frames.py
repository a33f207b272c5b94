"""One frame of a video by index, quickly, for the merge tuner's slider.

Reading frame N with the pipeline's reader decodes every frame before it; the slider jumps
anywhere, so this seeks instead: ffmpeg ``-ss`` (accurate seek: decode from the keyframe
before, drop what precedes) to half a frame before frame N's own time, as the pipeline's
probe measured it (variable frame rate included), and keeps the first frame that comes out.
"""
from __future__ import annotations

import subprocess
from collections import OrderedDict
from pathlib import Path

import numpy as np

from faceswap.errors import InputError
from faceswap.media.ffmpeg_tool import ffmpeg_exe, ffmpeg_path, last_error_line
from faceswap.media.video import VideoSource, open_source
from faceswap.types import Frame


class FrameCache:
    """Decoded frames by (video, index), the most recent ``size`` kept; videos probed once."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._frames: OrderedDict[tuple[str, int], Frame] = OrderedDict()
        self._sources: dict[str, VideoSource] = {}

    def source(self, path: Path) -> VideoSource:
        key = str(Path(path).resolve())
        if key not in self._sources:
            source = open_source(Path(path))
            if not isinstance(source, VideoSource) or not source.info.fps:
                raise InputError(f"{path} is not a video: the merge tuner needs a video")
            self._sources[key] = source
        return self._sources[key]

    def frame(self, path: Path, index: int) -> Frame:
        source = self.source(path)
        count = source.info.frame_count
        if not 0 <= index < count:
            raise InputError(f"frame {index} is outside {Path(path).name} (frames 0 to {count - 1})")
        key = (str(Path(path).resolve()), index)
        if key in self._frames:
            self._frames.move_to_end(key)
            return self._frames[key]
        frame = Frame(index, source.time_of(index), read_frame(source, index))
        self._frames[key] = frame
        while len(self._frames) > self.size:
            self._frames.popitem(last=False)
        return frame


def seek_time(source: VideoSource, index: int) -> float:
    """Half a frame before frame ``index`` is shown (so rounding never lands on its neighbour)."""
    shown = source.time_of(index)
    before = source.time_of(index - 1) if index > 0 else shown - 1.0 / float(source.info.fps)
    return max(0.0, shown - (shown - before) / 2)


def read_frame(source: VideoSource, index: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB of frame ``index``."""
    info = source.info
    args = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{seek_time(source, index):.6f}",
            "-i", ffmpeg_path(info.path), "-map", "0:v:0", "-frames:v", "1", "-fps_mode", "passthrough",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
    result = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    size = info.width * info.height * 3
    if len(result.stdout) < size:
        detail = last_error_line(result.stderr.decode(errors="replace")) or "no frame decoded"
        raise InputError(f"cannot decode frame {index} of {info.path}: {detail}")
    return np.frombuffer(result.stdout[:size], np.uint8).reshape(info.height, info.width, 3)
