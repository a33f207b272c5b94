"""Ordered frame readers (a video over an ffmpeg pipe, or a folder of images) and a video writer.

Frames come out as RGB uint8 with their index and the time they are shown; decoding runs in
a background thread. Frames or images that cannot be read are counted in ``unreadable`` and
logged. The writer gives every frame its own time (media/mkvpipe.py), so variable frame rate
footage keeps its timing and stays in sync with the copied audio; it sets metadata tags and
only renames the file into place when ffmpeg finished cleanly.
"""
from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path

import ffmpeg
import numpy as np

from faceswap.errors import InputError
from faceswap.media.encoding import EncodeSettings, codec_options, encodable
from faceswap.media.ffmpeg_tool import ffmpeg_exe, ffmpeg_path, first_error_line, last_error_line
from faceswap.media.image import is_image_file, read_image
from faceswap.media.mkvpipe import TICKS_PER_SECOND, frame_cluster, stream_header
from faceswap.media.probe import probe
from faceswap.runtime.concurrency import prefetch
from faceswap.types import Frame, FrameTimes, VideoInfo

log = logging.getLogger(__name__)


class FrameSource:
    """A sequence of frames with known length."""

    info: VideoInfo
    unreadable: int = 0     # frames or images that could not be read so far (each one logged as a warning)

    def frames(self, start: int = 0, every: int = 1, run: int = 1) -> Iterator[Frame]:
        """Frames whose index is >= ``start`` and, counted from a multiple of ``every``,
        among the first ``run`` (run 1: the multiples of ``every``), in order."""
        raise NotImplementedError

    def frame_indices(self, start: int = 0, every: int = 1, run: int = 1) -> list[int]:
        """Indices ``frames(start, every, run)`` will yield (when the count is exact)."""
        return list(_selected(start, every, run, self.info.frame_count))


def _selected(start: int, every: int, run: int, stop: int | None = None) -> Iterator[int]:
    """Indices >= start whose remainder modulo ``every`` is below ``run``, up to ``stop``."""
    run = max(1, min(run, every))
    index = start
    while stop is None or index < stop:
        if index % every < run:
            yield index
            index += 1
        else:
            index += every - index % every


class VideoSource(FrameSource):
    """A video decoded by ffmpeg to raw RGB frames."""

    def __init__(self, path: Path) -> None:
        self.info = probe(path)

    def frames(self, start: int = 0, every: int = 1, run: int = 1, prefetch_depth: int = 8) -> Iterator[Frame]:
        return prefetch(self._decode(start, every, run), depth=prefetch_depth)

    def _decode(self, start: int, every: int, run: int = 1) -> Iterator[Frame]:
        info = self.info
        run = max(1, min(run, every))
        stream = ffmpeg.input(ffmpeg_path(info.path))
        if start > 0 or every > 1:
            stream = stream.filter("select", f"gte(n,{start})*lt(mod(n,{every}),{run})")
        args = (
            stream.output("pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
            .global_args("-nostdin", "-hide_banner", "-loglevel", "error")
            .compile(cmd=ffmpeg_exe())
        )
        frame_bytes = info.width * info.height * 3
        indices = _selected(start, every, run)
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
                index = next(indices)
                yield Frame(index, self.time_of(index), image)
                produced += 1
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            drain.join()
        detail = last_error_line(b"".join(errors).decode(errors="replace"))
        if proc.returncode != 0 and produced == 0:
            raise InputError(f"cannot decode {info.path}: {detail}")
        missing = len(self.frame_indices(start, every, run)) - produced
        if missing > 0:
            self.unreadable += missing
            log.warning("%s: %d of its frames could not be decoded (%s)", info.path, missing, detail)

    def time_of(self, index: int) -> float:
        """Seconds from the file's start at which frame ``index`` is shown."""
        times = self.info.times
        if times is not None and index < len(times.starts):
            return times.starts[index]
        return index / float(self.info.fps) if self.info.fps else 0.0


class ImageFolderSource(FrameSource):
    """Every image file in a folder, sorted by name, as frames (pts = 0); unreadable ones are skipped."""

    def __init__(self, folder: Path) -> None:
        self.files = sorted(p for p in Path(folder).iterdir() if p.is_file() and is_image_file(p))
        if not self.files:
            raise InputError(f"{folder} is empty: it holds no image files (.png, .jpg, ...)")
        first = self._first_readable(Path(folder))
        self.info = VideoInfo(Path(folder), first.shape[1], first.shape[0], Fraction(0),
                              len(self.files), 0.0, 0, False, "images")

    def frames(self, start: int = 0, every: int = 1, run: int = 1, prefetch_depth: int = 4) -> Iterator[Frame]:
        def read() -> Iterator[Frame]:
            for index in self.frame_indices(start, every, run):
                path = self.files[index]
                try:
                    image = read_image(path)
                except InputError as exc:       # one bad photo must not stop the others
                    self.unreadable += 1
                    log.warning("%s: skipped", exc)
                    continue
                yield Frame(index, 0.0, image, name=path.name)
        return prefetch(read(), depth=prefetch_depth)

    def _first_readable(self, folder: Path) -> np.ndarray:
        for path in self.files:
            try:
                return read_image(path)
            except InputError:
                continue
        raise InputError(f"{folder} holds no image OpenCV can read ({len(self.files)} files, e.g. {self.files[0].name})")


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


class VideoWriter:
    """Write RGB frames to a video, copying audio from ``audio_from`` and tagging metadata.

    Frame ``k`` is shown at ``times.starts[k]`` (the source's own frame times), or at ``k / fps``
    when ``times`` is None. The output appears under its final name only after ``close()``
    succeeds; an interrupted write leaves nothing there.
    """

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, *,
                 audio_from: Path | None = None, metadata: Mapping[str, str] | None = None,
                 settings: EncodeSettings = EncodeSettings(), times: FrameTimes | None = None) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.size = (width, height)
        self.clock = FrameClock(fps, times)
        settings = encodable(settings, width, height)
        # the first frame's time is kept (ffmpeg would move each input to start at 0), so the
        # picture stays where it was against the audio of the source
        video = ffmpeg.input("pipe:", format="matroska", **({"itsoffset": self.clock.offset} if self.clock.offset else {}))
        inputs = [video]
        if audio_from is not None:
            inputs.append(ffmpeg.input(ffmpeg_path(audio_from)).audio)
        out_args: dict[str, object] = {
            **codec_options(settings), "movflags": "+faststart+use_metadata_tags", "fps_mode": "passthrough",
            "enc_time_base:v": str(self.clock.time_base),
        }
        if audio_from is not None:
            out_args.update(acodec="copy")
        for i, (key, value) in enumerate((metadata or {}).items()):
            out_args[f"metadata:g:{i}"] = f"{key}={value}"
        args = (
            ffmpeg.output(*inputs, ffmpeg_path(self.partial), **out_args)
            .global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-y")
            .compile(cmd=ffmpeg_exe())
        )
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self._errors: list[bytes] = []
        self._drain = threading.Thread(target=lambda: self._errors.append(self._proc.stderr.read()), daemon=True)
        self._drain.start()
        self.frames_written = 0
        self._send(stream_header(width, height))

    def write(self, rgb: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` uint8 RGB frame."""
        if rgb.shape[1::-1] != self.size or rgb.dtype != np.uint8:
            raise ValueError(f"frame {rgb.shape} {rgb.dtype} does not match writer size {self.size}")
        self._send(frame_cluster(rgb, *self.clock.span(self.frames_written)))
        self.frames_written += 1

    def _send(self, data: bytes) -> None:
        try:
            self._proc.stdin.write(data)
        except BrokenPipeError:
            self.abort()
            raise InputError(f"ffmpeg stopped while writing {self.path}: {self._error_text()}") from None

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
        return first_error_line(b"".join(self._errors).decode(errors="replace"))

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class FrameClock:
    """Start and duration of each written frame in the Matroska pipe's ticks, counted from the first frame."""

    def __init__(self, fps: Fraction, times: FrameTimes | None) -> None:
        self.fps = Fraction(fps)
        self.times = times if times is not None and times.starts else None
        self.offset = self.times.starts[0] if self.times else 0.0
        self.time_base = self.times.time_base if self.times else (1 / self.fps if self.fps else Fraction(1, 1000))

    def span(self, k: int) -> tuple[int, int]:
        start, end = self._seconds(k), self._seconds(k + 1)
        return round(start * TICKS_PER_SECOND), round((end - start) * TICKS_PER_SECOND)

    def _seconds(self, k: int) -> float:
        step = 1 / float(self.fps) if self.fps else 0.04
        if self.times is None:
            return k * step
        starts = self.times.starts
        if k < len(starts):
            return starts[k] - self.offset
        return self.times.end - self.offset + (k - len(starts)) * step
