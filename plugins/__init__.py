"""Built-in faceswap plugins, installed as ``faceswap_plugins``."""
