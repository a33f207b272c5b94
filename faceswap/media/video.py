"""Ordered frame readers (a video over an ffmpeg pipe, or a folder of images) and a video writer.

Frames come out as RGB uint8 with their index and timestamp; decoding runs in a
background thread. The writer encodes raw frames through ffmpeg, copies the
source's audio, sets metadata tags, and only renames the file into place when
ffmpeg finished cleanly.
"""
from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg
import numpy as np

from faceswap.errors import InputError
from faceswap.media.ffmpeg_tool import ffmpeg_exe, last_error_line
from faceswap.media.image import is_image_file, read_image
from faceswap.media.probe import probe
from faceswap.runtime.concurrency import prefetch
from faceswap.types import Frame, VideoInfo


class FrameSource:
    """A sequence of frames with known length."""

    info: VideoInfo
    unreadable: int = 0     # frames or images that could not be read so far (each one logged as a warning)

    def frames(self, start: int = 0, every: int = 1) -> Iterator[Frame]:
        """Frames whose index is >= ``start`` and a multiple of ``every``, in order."""
        raise NotImplementedError

    def frame_indices(self, start: int = 0, every: int = 1) -> range:
        """Indices ``frames(start, every)`` will yield (when the count is exact)."""
        first = start + (-start % every)
        return range(first, self.info.frame_count, every)


class VideoSource(FrameSource):
    """A video decoded by ffmpeg to raw RGB frames."""

    def __init__(self, path: Path) -> None:
        self.info = probe(path)

    def frames(self, start: int = 0, every: int = 1, prefetch_depth: int = 8) -> Iterator[Frame]:
        return prefetch(self._decode(start, every), depth=prefetch_depth)

    def _decode(self, start: int, every: int) -> Iterator[Frame]:
        info = self.info
        stream = ffmpeg.input(str(info.path))
        if start > 0 or every > 1:
            stream = stream.filter("select", f"gte(n,{start})*not(mod(n,{every}))")
        args = (
            stream.output("pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
            .global_args("-nostdin", "-hide_banner", "-loglevel", "error")
            .compile(cmd=ffmpeg_exe())
        )
        frame_bytes = info.width * info.height * 3
        fps = float(info.fps) if info.fps else 0.0
        index = start + (-start % every)
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        errors: list[bytes] = []
        drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
        drain.start()
        produced = 0
        try:
            while True:
                data = proc.stdout.read(frame_bytes)
                if len(data) < frame_bytes:
                    break
                image = np.frombuffer(data, np.uint8).reshape(info.height, info.width, 3)
                yield Frame(index, index / fps if fps else 0.0, image)
                produced += 1
                index += every
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            drain.join()
        if proc.returncode != 0 and produced == 0:
            detail = last_error_line(b"".join(errors).decode(errors="replace"))
            raise InputError(f"cannot decode {info.path}: {detail}")


class ImageFolderSource(FrameSource):
    """Every image file in a folder, sorted by name, as frames (pts = 0)."""

    def __init__(self, folder: Path) -> None:
        self.files = sorted(p for p in Path(folder).iterdir() if p.is_file() and is_image_file(p))
        if not self.files:
            raise InputError(f"{folder} is empty: it holds no image files (.png, .jpg, ...)")
        first = read_image(self.files[0])
        self.info = VideoInfo(Path(folder), first.shape[1], first.shape[0], Fraction(0),
                              len(self.files), 0.0, 0, False, "images")

    def frames(self, start: int = 0, every: int = 1, prefetch_depth: int = 4) -> Iterator[Frame]:
        def read() -> Iterator[Frame]:
            for index in self.frame_indices(start, every):
                path = self.files[index]
                yield Frame(index, 0.0, read_image(path), name=path.name)
        return prefetch(read(), depth=prefetch_depth)


def open_source(path: Path) -> FrameSource:
    """A video file or a folder of images; InputError with one line otherwise."""
    path = Path(path)
    if path.is_dir():
        return ImageFolderSource(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if is_image_file(path):
        raise InputError(f"{path} is a single image: put it in a folder to extract from images")
    return VideoSource(path)


@dataclass(frozen=True)
class EncodeSettings:
    """How the writer encodes video."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str = "yuv420p"


class VideoWriter:
    """Write RGB frames to a video, copying audio from ``audio_from`` and tagging metadata.

    The output appears under its final name only after ``close()`` succeeds; an
    interrupted write leaves nothing there.
    """

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, *,
                 audio_from: Path | None = None, metadata: Mapping[str, str] | None = None,
                 settings: EncodeSettings = EncodeSettings()) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.size = (width, height)
        video = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}",
                             framerate=str(fps))
        inputs = [video]
        if audio_from is not None:
            inputs.append(ffmpeg.input(str(audio_from)).audio)
        out_args: dict[str, object] = {
            "vcodec": settings.codec, "pix_fmt": settings.pix_fmt, "movflags": "+faststart+use_metadata_tags",
        }
        if settings.codec in ("libx264", "libx265"):
            out_args.update(crf=settings.crf, preset=settings.preset)
        if audio_from is not None:
            out_args.update(acodec="copy")
        for i, (key, value) in enumerate((metadata or {}).items()):
            out_args[f"metadata:g:{i}"] = f"{key}={value}"
        args = (
            ffmpeg.output(*inputs, str(self.partial), **out_args)
            .global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-y")
            .compile(cmd=ffmpeg_exe())
        )
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self._errors: list[bytes] = []
        self._drain = threading.Thread(target=lambda: self._errors.append(self._proc.stderr.read()), daemon=True)
        self._drain.start()
        self.frames_written = 0

    def write(self, rgb: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` uint8 RGB frame."""
        if rgb.shape[1::-1] != self.size or rgb.dtype != np.uint8:
            raise ValueError(f"frame {rgb.shape} {rgb.dtype} does not match writer size {self.size}")
        try:
            self._proc.stdin.write(np.ascontiguousarray(rgb).tobytes())
        except BrokenPipeError:
            self.abort()
            raise InputError(f"ffmpeg stopped while writing {self.path}: {self._error_text()}") from None
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the file and move it to its final name."""
        self._proc.stdin.close()
        self._proc.wait()
        self._drain.join()
        if self._proc.returncode != 0:
            self.partial.unlink(missing_ok=True)
            raise InputError(f"ffmpeg failed writing {self.path}: {self._error_text()}")
        self.partial.replace(self.path)
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and remove the partial file."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self.partial.unlink(missing_ok=True)

    def _error_text(self) -> str:
        return last_error_line(b"".join(self._errors).decode(errors="replace"))

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
