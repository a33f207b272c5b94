"""Rewrite the records of face files in place: the pixels stay byte for byte, only the embedded
metadata changes (new masks, imported labels). Each file is replaced atomically, under the face
set's lock, so a killed run leaves every face either as it was or fully updated."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from faceswap.atomic import write_atomic
from faceswap.errors import FaceSetError
from faceswap.faceset.schema import FaceRecord, record_from_json, record_to_json
from faceswap.media.image import decode_image
from faceswap.media.pngmeta import read_json, replace_json


def read_raw(path: Path, pixels: bool = True) -> tuple[bytes, np.ndarray | None, FaceRecord]:
    """(file bytes, RGB pixels or None, record) of one face file; FaceSetError naming it otherwise."""
    try:
        raw = Path(path).read_bytes()
        data = read_json(raw)
        image = decode_image(raw) if pixels else None
    except FileNotFoundError:
        raise FaceSetError(f"{path}: the face file is gone (deleted?)") from None
    except (OSError, ValueError) as exc:
        raise FaceSetError(f"{path}: unreadable face file ({exc})") from exc
    if data is None:
        raise FaceSetError(f"{path}: no faceswap metadata in this PNG")
    return raw, image, record_from_json(data, str(path))


def write_record(path: Path, raw: bytes, record: FaceRecord) -> None:
    """Replace the record embedded in ``raw`` (the file's bytes) and write the file atomically."""
    write_atomic(path, replace_json(raw, record_to_json(record)))


def chunks(paths: Sequence[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(paths), size):
        yield list(paths[start:start + size])


def rewrite_records(paths: Sequence[Path], change: Callable[[Path, FaceRecord], FaceRecord | None]) -> int:
    """Apply ``change`` to the record of each face (None: leave the file alone); returns how many changed."""
    changed = 0
    for path in paths:
        raw, _, record = read_raw(path, pixels=False)
        new = change(path, record)
        if new is not None:
            write_record(path, raw, new)
            changed += 1
    return changed
