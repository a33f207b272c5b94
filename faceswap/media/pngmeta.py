"""One JSON iTXt chunk in a PNG, placed before IDAT so metadata is read without decoding pixels."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"faceswap"
# iTXt keyword (and container tag) of the text saying an output was made by faceswap
PROVENANCE_KEY = "faceswap_provenance"


def embed_json(png: bytes, obj: Any, keyword: bytes = KEYWORD) -> bytes:
    """Return ``png`` with ``obj`` as compact JSON in an iTXt chunk right after IHDR."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8")
    # keyword, null, compression flag 0, method 0, empty language tag, empty translated keyword
    data = keyword + b"\x00\x00\x00" + b"\x00" + b"\x00" + text
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    ihdr_end = len(PNG_SIGNATURE) + 8 + struct.unpack(">I", png[8:12])[0] + 4
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def read_json(source: Path | bytes, keyword: bytes = KEYWORD) -> Any | None:
    """The JSON stored under ``keyword``, reading chunks only up to IDAT; None if absent.

    Anything wrong with the file's contents (not a PNG, cut short, corrupt, JSON nested too
    deeply to parse) is a ValueError saying which; a missing file is an OSError.
    """
    try:
        if isinstance(source, (bytes, bytearray)):
            return _scan(memoryview(source), keyword)
        return _read_file(Path(source), keyword)
    except RecursionError:
        raise ValueError("its metadata is nested too deeply to read") from None
    except (struct.error, zlib.error, IndexError) as exc:
        raise ValueError(f"cut short or corrupt ({exc})") from None


def _read_file(source: Path, keyword: bytes) -> Any | None:
    with open(source, "rb") as handle:
        head = handle.read(len(PNG_SIGNATURE))
        if head != PNG_SIGNATURE:
            raise ValueError(f"{source} is not a PNG")
        while True:
            header = handle.read(8)
            if len(header) < 8:
                return None
            length, ctype = struct.unpack(">I4s", header)
            if ctype in (b"IDAT", b"IEND"):
                return None
            body = handle.read(length)
            crc = handle.read(4)
            if ctype == b"iTXt":
                found = _parse_itxt(body, crc, keyword)
                if found is not None:
                    return found


def _scan(png: memoryview, keyword: bytes) -> Any | None:
    if bytes(png[:8]) != PNG_SIGNATURE:
        raise ValueError("not a PNG")
    pos = 8
    while pos + 8 <= len(png):
        length, ctype = struct.unpack(">I4s", png[pos:pos + 8])
        if ctype in (b"IDAT", b"IEND"):
            return None
        body = bytes(png[pos + 8:pos + 8 + length])
        crc = bytes(png[pos + 8 + length:pos + 12 + length])
        if ctype == b"iTXt":
            found = _parse_itxt(body, crc, keyword)
            if found is not None:
                return found
        pos += 12 + length
    return None


def _parse_itxt(body: bytes, crc: bytes, keyword: bytes) -> Any | None:
    key, _, rest = body.partition(b"\x00")
    if key != keyword:
        return None
    if struct.unpack(">I", crc)[0] != zlib.crc32(b"iTXt" + body):
        raise ValueError("metadata chunk is corrupt (CRC mismatch)")
    compressed, _method = rest[0], rest[1]
    _lang, _, rest = rest[2:].partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    if compressed:
        text = zlib.decompress(text)
    return json.loads(text.decode("utf-8"))


def replace_json(png: bytes, obj: Any, keyword: bytes = KEYWORD) -> bytes:
    """``png`` with its ``keyword`` JSON chunk replaced by ``obj`` (added when it has none);
    every other chunk, the pixels included, is copied byte for byte."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    kept = [png[:len(PNG_SIGNATURE)]]
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(png):
        length, ctype = struct.unpack(">I4s", png[pos:pos + 8])
        end = pos + 12 + length
        if end > len(png):
            raise ValueError("cut short or corrupt (a chunk runs past the end)")
        if not (ctype == b"iTXt" and png[pos + 8:pos + 8 + length].partition(b"\x00")[0] == keyword):
            kept.append(png[pos:end])
        pos = end
    return embed_json(b"".join(kept), obj, keyword)
