"""``--ref PHOTO``: keep only the faces of the person in a reference photo."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceswap.errors import InputError, NoFaceError
from faceswap.extract.plugins import ExtractPlugins
from faceswap.extract.tracking import FaceFinder
from faceswap.media.image import read_image


@dataclass(frozen=True)
class ReferenceFilter:
    """Faces whose identity cosine to ``embedding`` reaches ``threshold`` match."""

    embedding: np.ndarray
    threshold: float

    def similarity(self, embeddings: Sequence[np.ndarray | None]) -> np.ndarray:
        return np.array([-1.0 if v is None else float(v @ self.embedding) for v in embeddings])

    def matches(self, embeddings: Sequence[np.ndarray | None]) -> list[bool]:
        return list(self.similarity(embeddings) >= self.threshold)


def reference_from_photo(path: Path, plugins: ExtractPlugins, threshold: float) -> ReferenceFilter:
    """Embed the largest face of the photo at ``path``."""
    if plugins.identity is None:
        raise InputError("--ref needs an identity plugin; do not combine it with --identity none")
    faces = FaceFinder(plugins, min_size=1, max_faces=1).find(read_image(path))
    if not faces:
        raise NoFaceError(f"no face found in the --ref photo {path}")
    return ReferenceFilter(faces[0].embedding, threshold)
