"""Derive faceswap/score/identity_centre.py: the mean dlib ResNet vector of a reference population.

The score centres dlib's 128-d vectors on this mean before taking cosines (dlib vectors
of different people are otherwise ~0.8 apart in cosine). Population: every face found in
the shared media's photos/ (19 people, 81 photos); the videos, and so the evaluation
pair AOC / Katie Hill, are not used. Run: python scripts/derive_identity_centre.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from faceswap.extract.plugins import ExtractChoice, build_extract_plugins
from faceswap.extract.tracking import FaceFinder
from faceswap.media.image import is_image_file, read_image
from faceswap.registry import Registry
from faceswap.runtime.device import resolve_device
from faceswap.score.identity import ScoreEmbedder

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "photos"


def raw_vectors() -> np.ndarray:
    plugins = build_extract_plugins(Registry.discover(), ExtractChoice(identity=None), {}, resolve_device("cpu"))
    embedder = ScoreEmbedder()
    vectors = []
    for photo in sorted(PHOTOS.rglob("*")):
        if not is_image_file(photo):
            continue
        image = read_image(photo)
        for face in FaceFinder(plugins, min_size=40, max_faces=1).find(image):
            vectors.append(embedder.raw_descriptors([embedder.chip(image, face.landmarks.points)])[0])
    return np.asarray(vectors)


if __name__ == "__main__":
    vectors = raw_vectors()
    centre = vectors.mean(0)
    print(f"# mean of {len(vectors)} faces from {PHOTOS}", file=sys.stderr)
    print("IDENTITY_CENTRE = np.array([")
    for i in range(0, 128, 8):
        print("    " + " ".join(f"{v:+.6f}," for v in centre[i:i + 8]))
    print("])")
