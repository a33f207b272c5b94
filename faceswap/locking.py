"""One writer at a time per face set or model folder.

A writer holds an exclusive, non-blocking ``flock`` on ``<folder>/.lock`` for as long as it
writes. The kernel releases it when the process ends, however it ends, so a killed run never
leaves a stale lock behind. Who holds it (pid, host, command, start time) is written to
``<folder>/.lock.json`` so that a second writer can say whom it is waiting for.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faceswap.atomic import write_json_atomic
from faceswap.errors import WorkspaceError

LOCK_NAME = ".lock"
HOLDER_NAME = ".lock.json"
LOCK_FILES = (LOCK_NAME, HOLDER_NAME)


@contextmanager
def exclusive_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold ``folder``'s lock, or raise WorkspaceError naming who holds it.

    ``what`` names the folder in messages, e.g. "face set /ws/facesets/src".
    """
    folder = Path(folder)
    fd = _acquire(folder, what)
    try:
        write_json_atomic(folder / HOLDER_NAME, _holder())
        yield
    finally:
        (folder / HOLDER_NAME).unlink(missing_ok=True)
        _remove_if_unused(folder)
        os.close(fd)


def release_folder(folder: Path) -> None:
    """Remove the lock files of a folder its holder is about to delete (a failed run's empty set)."""
    for name in LOCK_FILES:
        (Path(folder) / name).unlink(missing_ok=True)


def _remove_if_unused(folder: Path) -> None:
    """A folder the lock created and nothing else wrote to leaves no trace."""
    try:
        if {p.name for p in folder.iterdir()} <= set(LOCK_FILES):
            release_folder(folder)
            folder.rmdir()
    except OSError:
        pass            # gone already, or someone else just started writing to it


def _acquire(folder: Path, what: str) -> int:
    path = folder / LOCK_NAME
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise WorkspaceError(f"cannot write to {folder} ({exc.strerror or exc}); choose another --workspace") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WorkspaceError(_busy_message(folder, what)) from None
        # the holder may have deleted the file between our open and our lock: lock the current one
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _holder() -> dict[str, object]:
    command = " ".join(["faceswap", *sys.argv[1:]]) if sys.argv else "faceswap"
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": command[:200], "started": time.time()}


def _busy_message(folder: Path, what: str) -> str:
    try:
        holder = json.loads((folder / HOLDER_NAME).read_text(encoding="utf-8"))
        started = time.strftime("%H:%M", time.localtime(float(holder["started"])))
        host = "" if holder.get("host") == socket.gethostname() else f" on {holder.get('host')}"
        who = f"pid {holder['pid']}{host} ({holder['command']}, started {started})"
    except (OSError, ValueError, KeyError, TypeError):
        who = "another faceswap process"
    return f"{what} is being written by {who}; wait for it to finish or stop it"
