"""A minimal Matroska stream of raw RGB frames, each with its own timestamp, for ffmpeg's stdin.

A raw-video pipe has one frame rate for all frames, so footage with a variable frame rate
(phones) came out re-timed while its audio was copied as it was. Matroska carries a time per
frame, and ffmpeg reads uncompressed RGB from it (CodecID V_UNCOMPRESSED, ColourSpace 'RGB'+24).
Only what ffmpeg needs is written: the EBML header, a segment of unknown size (a stream),
one track, then one cluster per frame holding its start time and duration in microseconds.
"""
from __future__ import annotations

import struct

import numpy as np

TICKS_PER_SECOND = 1_000_000    # TimestampScale 1000 ns: microsecond timestamps
_UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def stream_header(width: int, height: int) -> bytes:
    """Everything before the first frame."""
    ebml = _element(0x1A45DFA3, b"".join([
        _uint(0x4286, 1), _uint(0x42F7, 1), _uint(0x42F2, 4), _uint(0x42F3, 8),
        _element(0x4282, b"matroska"), _uint(0x4287, 4), _uint(0x4285, 2),
    ]))
    info = _element(0x1549A966, _uint(0x2AD7B1, 1_000_000_000 // TICKS_PER_SECOND)
                    + _element(0x4D80, b"faceswap") + _element(0x5741, b"faceswap"))
    video = _element(0xE0, _uint(0xB0, width) + _uint(0xBA, height) + _element(0x2EB524, b"RGB\x18"))
    track = _element(0xAE, _uint(0xD7, 1) + _uint(0x73C5, 1) + _uint(0x83, 1) + _uint(0x9C, 0)
                     + _element(0x86, b"V_UNCOMPRESSED") + video)
    return ebml + _id(0x18538067) + _UNKNOWN_SIZE + info + _element(0x1654AE6B, track)


def frame_cluster(rgb: np.ndarray, start: int, duration: int) -> bytes:
    """One ``(H, W, 3)`` uint8 frame shown from ``start`` for ``duration`` (both in microseconds)."""
    block = b"\x81" + struct.pack(">hB", 0, 0) + np.ascontiguousarray(rgb).tobytes()   # track 1, offset 0
    group = _element(0xA0, _element(0xA1, block) + _uint(0x9B, max(1, duration)))
    return _element(0x1F43B675, _uint(0xE7, start) + group)


def _id(element_id: int) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def _size(length: int) -> bytes:
    """EBML variable-length size: the first byte's leading 1 bit says how many bytes follow."""
    for width in range(1, 9):
        if length < (1 << (7 * width)) - 1:
            return ((1 << (7 * width)) | length).to_bytes(width, "big")
    raise ValueError(f"element of {length} bytes is too large for Matroska")


def _element(element_id: int, payload: bytes) -> bytes:
    return _id(element_id) + _size(len(payload)) + payload


def _uint(element_id: int, value: int) -> bytes:
    return _element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))
