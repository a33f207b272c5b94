"""Which drop-in plugin files the user trusts to run (``faceswap plugins trust``).

A drop-in is Python: importing it runs it. faceswap's default workspace is ./workspace, so
running faceswap inside a folder someone else prepared must not run the files they left in
its plugins/ folder. A drop-in is imported only when this record names its absolute path with
the sha256 it has now: an edited file needs trusting again. The record lives in the user's own
config folder, not in the workspace, because a prepared workspace could carry a forged one.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from faceswap.atomic import write_json_atomic
from faceswap.hashing import file_sha256

TRUSTED = "trusted"
NOT_TRUSTED = "not trusted"
CHANGED = "changed since it was trusted"


def default_trust_file() -> Path:
    """$FACESWAP_CONFIG_DIR, else $XDG_CONFIG_HOME/faceswap, else ~/.config/faceswap: trusted_plugins.json."""
    folder = os.environ.get("FACESWAP_CONFIG_DIR")
    if not folder:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        folder = os.path.join(base, "faceswap")
    return Path(folder) / "trusted_plugins.json"


class TrustStore:
    """The trusted drop-in files recorded in one JSON file: {"files": {absolute path: sha256}}."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def status(self, file: Path) -> str:
        """TRUSTED, NOT_TRUSTED or CHANGED for one drop-in file."""
        recorded = self._read().get(_key(file))
        if recorded is None:
            return NOT_TRUSTED
        return TRUSTED if recorded == file_sha256(file) else CHANGED

    def trust(self, files: Iterable[Path]) -> list[tuple[Path, str]]:
        """Record ``files`` as they are now; returns (file, sha256) of each."""
        record = self._read()
        done = []
        for file in files:
            digest = file_sha256(file)
            record[_key(file)] = digest
            done.append((Path(file), digest))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path, {"files": record})
        return done

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            files = data.get("files", {}) if isinstance(data, dict) else {}
            return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
        except (OSError, ValueError):
            return {}           # no record (or an unreadable one): nothing is trusted


def _key(file: Path) -> str:
    return str(Path(file).resolve())
