import struct

import numpy as np
import pytest

from faceswap.media.image import decode_image, encode_image
from faceswap.media.pngmeta import embed_json, read_json


def _chunk_types(png: bytes) -> list[bytes]:
    pos, types = 8, []
    while pos < len(png):
        length, ctype = struct.unpack(">I4s", png[pos:pos + 8])
        types.append(ctype)
        pos += 12 + length
    return types


def test_json_round_trip_and_chunk_sits_before_idat(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 255, (32, 40, 3), dtype=np.uint8)
    payload = {"frame": 12, "name": "zoë", "points": [[1.5, 2.25]]}
    png = embed_json(encode_image(rgb), payload)
    types = _chunk_types(png)
    assert types.index(b"iTXt") < types.index(b"IDAT")
    path = tmp_path / "face.png"
    path.write_bytes(png)
    assert read_json(path) == payload
    assert read_json(png) == payload
    assert np.array_equal(decode_image(png), rgb)       # pixels untouched


def test_missing_metadata_reads_as_none():
    png = encode_image(np.zeros((8, 8, 3), np.uint8))
    assert read_json(png) is None


def test_corrupt_metadata_is_detected():
    png = bytearray(embed_json(encode_image(np.zeros((8, 8, 3), np.uint8)), {"a": 1}))
    at = png.index(b'"a"')
    png[at + 1] = ord("b")
    with pytest.raises(ValueError, match="CRC"):
        read_json(bytes(png))
