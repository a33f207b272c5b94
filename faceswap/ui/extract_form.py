"""The Workspace page's extract form and uploads: checked here, run as ``faceswap extract``."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceswap.errors import InputError
from faceswap.media.video import open_source
from faceswap.registry import Registry
from faceswap.workspace import Workspace

SAFE_NAME = re.compile(r"^[\w][\w.\- ]{0,120}$")
MAX_UPLOAD = 8 * 1024 ** 3


@dataclass(frozen=True)
class ExtractForm:
    source: Path
    name: str = ""
    detector: str = "scrfd"
    landmarker: str = "2d106"
    masker: str = "extended"
    every: int = 1
    size: int = 256

    @classmethod
    def from_json(cls, data: dict[str, Any], workspace: Workspace) -> ExtractForm:
        text = str(data.get("source") or "").strip()
        if not text:
            raise InputError("choose a video or folder (upload one or type its path)")
        uploaded = workspace.root / "uploads" / text
        source = uploaded if "/" not in text and uploaded.exists() else Path(text).expanduser()
        try:
            every, size = int(data.get("every") or 1), int(data.get("size") or 256)
        except (TypeError, ValueError):
            raise InputError("'every' and 'size' must be whole numbers") from None
        return cls(source, str(data.get("name") or "").strip(), str(data.get("detector") or "scrfd"),
                   str(data.get("landmarker") or "2d106"), str(data.get("masker") or "extended"), every, size)

    def set_name(self) -> str:
        return self.name or (self.source.stem if self.source.is_file() else self.source.name)

    def args(self, registry: Registry) -> list[str]:
        """``extract`` arguments, after the checks the page can show at once (the job checks the rest)."""
        open_source(self.source)                     # a missing file or a non-video is one line, now
        if not SAFE_NAME.match(self.set_name()):
            raise InputError(f"face set name '{self.set_name()}' must be letters, digits, '.', '-' or '_'")
        for kind, name in (("detector", self.detector), ("landmarker", self.landmarker), ("masker", self.masker)):
            if name not in registry.names(kind):
                raise InputError(f"unknown {kind} '{name}' (one of: {', '.join(registry.names(kind))})")
        if not 1 <= self.every <= 10000:
            raise InputError(f"every {self.every} is out of range (1 to 10000)")
        if not 64 <= self.size <= 1024:
            raise InputError(f"face size {self.size} is out of range (64 to 1024)")
        return ["extract", str(self.source), "--name", self.set_name(), "--detector", self.detector,
                "--landmarker", self.landmarker, "--masker", self.masker, "--every", str(self.every),
                "--size", str(self.size)]


async def save_upload(workspace: Workspace, name: str, chunks: AsyncIterator[bytes]) -> Path:
    """Write an uploaded file to ``<workspace>/uploads/NAME`` whole or not at all, and check it is media.

    The bytes go to a temp file that is renamed into place only once complete and readable as a
    video; anything else is deleted and reported in one line.
    """
    name = Path(name).name
    if not SAFE_NAME.match(name):
        raise InputError(f"file name '{name}' must be letters, digits, '.', '-' or '_'")
    folder = workspace.ensure(workspace.root / "uploads")
    target = folder / name
    partial = folder / f".{name}.part"
    size = 0
    check = folder / f".{name}.check{Path(name).suffix}"      # probed under a name with the right suffix
    try:
        with open(partial, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise InputError(f"{name} is larger than {MAX_UPLOAD // 1024 ** 3} GB")
                out.write(chunk)
        if size == 0:
            raise InputError(f"{name} is empty")
        partial.rename(check)
        if not open_source(check).info.fps:
            raise InputError(f"{name} is not a video")
        check.rename(target)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        check.unlink(missing_ok=True)
        if isinstance(exc, InputError):
            raise InputError(str(exc).replace(str(check), name)) from None
        raise
    return target
