"""How merged video is encoded, and a check that the encoder accepts it before any work is done.

yuv420p (the default, what every player shows) needs an even width and height. For an odd
size the encoders that can store full-resolution colour (x264, x265, VP9, AV1) get 4:4:4
instead, so every pixel is kept at the source's own size; other codecs are refused up front
with the reason, rather than failing at the end of a merge with ffmpeg's generic
"Error while opening encoder".
"""
from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass, replace

from faceswap.errors import InputError
from faceswap.media.ffmpeg_tool import ffmpeg_exe, first_error_line

log = logging.getLogger(__name__)

FULL_CHROMA_CODECS = ("libx264", "libx265", "libvpx-vp9", "libaom-av1")
CRF_CODECS = ("libx264", "libx265")


@dataclass(frozen=True)
class EncodeSettings:
    """How the writer encodes video."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str = "yuv420p"


def encodable(settings: EncodeSettings, width: int, height: int) -> EncodeSettings:
    """``settings`` with a pixel format the codec can use at ``width`` x ``height`` (4:4:4 for odd sizes)."""
    halves_width = settings.pix_fmt.startswith(("yuv420", "yuvj420", "yuv422", "yuvj422", "nv12", "nv21"))
    halves_height = settings.pix_fmt.startswith(("yuv420", "yuvj420", "nv12", "nv21"))
    if not ((halves_width and width % 2) or (halves_height and height % 2)):
        return settings
    if settings.codec not in FULL_CHROMA_CODECS:
        return settings                 # check_encoder says whether this codec copes
    full = "yuv444p" + settings.pix_fmt.split("p", 1)[1] if settings.pix_fmt.startswith("yuv") else "yuv444p"
    log.warning("the video is %dx%d, an odd size %s cannot hold: encoding it as %s (4:4:4) to keep its size; "
                "some players (web browsers, QuickTime) cannot show 4:4:4", width, height, settings.pix_fmt, full)
    return replace(settings, pix_fmt=full)


def check_encoder(settings: EncodeSettings, width: int, height: int) -> EncodeSettings:
    """Encode one frame to nowhere; InputError with ffmpeg's reason when the codec refuses.

    Returns the settings to use (see ``encodable``).
    """
    settings = encodable(settings, width, height)
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}", "-i", "pipe:", "-frames:v", "1", *codec_args(settings), "-f", "null", "-"]
    result = subprocess.run(args, input=bytes(width * height * 3), capture_output=True, check=False)
    if result.returncode == 0:
        return settings
    reason = first_error_line(result.stderr.decode(errors="replace"))
    if width % 2 or height % 2:
        raise InputError(f"cannot encode {width}x{height} video with --codec {settings.codec} ({reason}): "
                         f"an odd size needs a codec that can store it, e.g. --codec libx264 (as 4:4:4)")
    raise InputError(f"cannot encode {width}x{height} video with --codec {settings.codec} ({reason}): "
                     f"choose another --codec or --preset")


def codec_options(settings: EncodeSettings) -> dict[str, str]:
    """ffmpeg output options (name without the dash -> value) for the video codec."""
    options = {"c:v": settings.codec, "pix_fmt": settings.pix_fmt}
    if settings.codec in CRF_CODECS:
        options.update(crf=str(settings.crf), preset=settings.preset)
    return options


def codec_args(settings: EncodeSettings) -> list[str]:
    """``codec_options`` as command-line arguments."""
    return [arg for key, value in codec_options(settings).items() for arg in (f"-{key}", value)]
