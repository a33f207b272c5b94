"""faceswap: a plugin-based, offline, CPU-first face-swap toolkit."""

__version__ = "0.1.0"
