"""Where merged frames go: a video (audio kept, provenance tagged) or a folder of PNGs."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceswap import __version__
from faceswap.media.image import write_image
from faceswap.media.pngmeta import PROVENANCE_KEY
from faceswap.media.video import EncodeSettings, VideoWriter
from faceswap.types import VideoInfo


def provenance_tags() -> dict[str, str]:
    """Container metadata saying the video was made with faceswap."""
    text = f"Made with faceswap {__version__}: faces in this video were swapped (synthetic media)"
    return {"comment": text, PROVENANCE_KEY: text}


class VideoOutput:
    """Frames -> a video with the source's audio and the provenance tags."""

    def __init__(self, path: Path, info: VideoInfo, settings: EncodeSettings) -> None:
        self.path = path
        self._writer = VideoWriter(path, info.width, info.height, info.fps,
                                   audio_from=info.path if info.has_audio else None,
                                   metadata=provenance_tags(), settings=settings, times=info.times)

    def write(self, index: int, frame: np.ndarray) -> None:
        self._writer.write(frame)

    def close(self) -> Path:
        return self._writer.close()

    def abort(self) -> None:
        self._writer.abort()


class FramesOutput:
    """Frames -> ``<folder>/frame_NNNNNN.png`` (lossless, for inspection or other tools)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, index: int, frame: np.ndarray) -> None:
        write_image(self.path / f"frame_{index:06d}.png", frame)

    def close(self) -> Path:
        return self.path

    def abort(self) -> None:
        return None


def watermark(frame: np.ndarray) -> np.ndarray:
    """A small visible 'faceswap' label in the bottom-right corner."""
    out = frame.copy()
    height, width = out.shape[:2]
    scale = max(0.4, height / 720 * 0.8)
    text = "faceswap"
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    origin = (width - tw - int(10 * scale), height - int(10 * scale))
    cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)
    return out
