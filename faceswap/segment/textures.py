"""Non-face image textures for synthetic occluders: patches cut at random from a bank of images.

The default bank is the photographs scikit-image ships inside its wheel (a cat, coffee, rocket,
coins, brick, grass, gravel, text, ...; its one portrait, the astronaut, and the cameraman are
left out), plus any folder of images the caller adds (e.g. frames of a video without faces).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from faceswap.errors import InputError
from faceswap.media.image import is_image_file, read_image

SKIMAGE_IMAGES = ("brick.png", "chelsea.png", "clock_motion.png", "coffee.png", "coins.png", "color.png",
                  "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "logo.png", "moon.png",
                  "motorcycle_left.png", "page.png", "rocket.jpg", "text.png", "retina.jpg", "horse.png")


class TextureBank:
    """RGB uint8 images to cut texture patches from."""

    def __init__(self, images: Sequence[np.ndarray]) -> None:
        if not images:
            raise InputError("no texture images for the synthetic occluders")
        self.images = list(images)

    @classmethod
    def default(cls, extra: Iterable[Path] = ()) -> TextureBank:
        import skimage

        folder = Path(skimage.__file__).parent / "data"
        paths = [folder / name for name in SKIMAGE_IMAGES if (folder / name).is_file()]
        for root in extra:
            paths += sorted(p for p in Path(root).rglob("*") if is_image_file(p))
        return cls([_rgb(read_image(p)) for p in paths])

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """A ``(size, size, 3)`` uint8 patch: a random crop of a random image, scaled, flipped, turned."""
        image = self.images[int(rng.integers(len(self.images)))]
        h, w = image.shape[:2]
        side = int(min(h, w) * rng.uniform(0.2, 1.0))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        patch = cv2.resize(image[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
        patch = np.rot90(patch, int(rng.integers(4)))
        return np.ascontiguousarray(patch[:, ::-1] if rng.random() < 0.5 else patch)


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])
