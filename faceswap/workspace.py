"""Workspace: where face sets, models, output and drop-in plugins live (paths only)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from faceswap.errors import WorkspaceError

DEFAULT_WORKSPACE = Path("workspace")


@dataclass(frozen=True)
class Workspace:
    """The folder layout under one workspace root."""

    root: Path

    @property
    def facesets(self) -> Path:
        return self.root / "facesets"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def plugins(self) -> Path:
        return self.root / "plugins"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def config_file(self) -> Path:
        return self.root / "faceswap.toml"

    def faceset_dir(self, name: str) -> Path:
        return self.facesets / name

    def model_dir(self, name: str) -> Path:
        return self.models / name

    def ensure(self, folder: Path) -> Path:
        """Create ``folder`` (inside the workspace) or raise a one-line WorkspaceError."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".faceswap-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise WorkspaceError(
                f"cannot write to {folder} ({exc.strerror or exc}); choose another --workspace"
            ) from exc
        return folder


def default_workspace() -> Workspace:
    """``$FACESWAP_WORKSPACE`` or ./workspace."""
    return Workspace(Path(os.environ.get("FACESWAP_WORKSPACE", DEFAULT_WORKSPACE)))
