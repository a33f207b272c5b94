"""Atomic file writes: a killed job never leaves a half-written file under its final name.

A write that fails for a reason the user can fix (disk or quota full, file too large for the
file system, read-only or forbidden folder) is a one-line WorkspaceError naming the file.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from faceswap.errors import WorkspaceError

NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
NOT_ALLOWED = {errno.EROFS, errno.EACCES, errno.EPERM}


def _file_mode() -> int:
    """What a plain open() would give a new file (mkstemp alone makes it owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an OSError the user can fix, raised while writing ``path``, into a WorkspaceError."""
    try:
        yield
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise WorkspaceError(f"cannot write {path} ({exc.strerror}): free some disk space "
                                 f"or choose another --workspace") from exc
        if exc.errno in NOT_ALLOWED:
            raise WorkspaceError(f"cannot write {path} ({exc.strerror}): check the folder's permissions "
                                 f"or choose another --workspace") from exc
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename it into place."""
    path = Path(path)
    with writing(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.chmod(tmp, FILE_MODE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def write_json_atomic(path: Path, obj: Any) -> None:
    """``write_atomic`` of pretty, stable JSON."""
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files a killed job left behind; returns how many."""
    count = 0
    for tmp in Path(folder).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
        count += 1
    return count
