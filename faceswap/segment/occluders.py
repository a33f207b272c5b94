"""Synthetic occluders pasted over faces, so the truth of what covers the face is known.

Five kinds, drawn in the net crop's pixels around the face's landmarks: a hand (palm, fingers and
forearm coming in from outside the crop, filled with another face's skin moved toward this face's
tone: the hardest case), a textured patch cut from a non-face image, a bar (a microphone, pen or
stick, sometimes with a ball head over the mouth), strands or a fringe of hair, and glasses frames
(rings, bridge and temples; sometimes dark lenses). Each is pasted with a blurred edge, its colours
partly matched to the face and shaded, and returned as its alpha, which is subtracted from the
face region to give the ground truth.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from faceswap.segment.textures import TextureBank

SHIFT = 3                   # fixed-point bits: shapes are drawn with sub-pixel precision
KINDS = ("hand", "patch", "bar", "hair", "glasses")


@dataclass(frozen=True)
class FaceGeometry:
    """Where the face is in the crop (pixels)."""

    left_eye: np.ndarray
    right_eye: np.ndarray
    nose: np.ndarray
    mouth: np.ndarray
    width: float             # jaw corner to jaw corner
    up: np.ndarray           # unit vector from chin to nose bridge
    size: int

    @classmethod
    def of(cls, points: np.ndarray, size: int) -> FaceGeometry:
        up = points[27] - points[8]
        return cls(points[36:42].mean(0), points[42:48].mean(0), points[30], points[48:68].mean(0),
                   float(np.linalg.norm(points[16] - points[0])), up / (np.linalg.norm(up) + 1e-6), size)

    @property
    def centre(self) -> np.ndarray:
        return (self.left_eye + self.right_eye + self.mouth) / 3


def occlude(image: np.ndarray, region: np.ndarray, points: np.ndarray, rng: np.random.Generator,
            textures: TextureBank, skin: np.ndarray, weights: dict[str, float], count: int) -> tuple[np.ndarray, np.ndarray]:
    """Paste ``count`` occluders on ``image`` ((R, R, 3) uint8; ``region`` its face region, ``points``
    its landmarks in crop pixels; ``skin`` another face's skin texture). Returns (image, alpha (R, R)
    float32: how much of each pixel is covered)."""
    face = FaceGeometry.of(points, image.shape[0])
    kinds = list(weights)
    chances = np.array([weights[k] for k in kinds], np.float64)
    out = image.astype(np.float32)
    covered = np.zeros(image.shape[:2], np.float32)
    for _ in range(count):
        kind = kinds[int(rng.choice(len(kinds), p=chances / chances.sum()))]
        alpha, fill = MAKERS[kind](face, rng, textures, skin, image)
        if alpha.max() <= 0:
            continue
        fill = _match_colour(fill, image, region, rng.uniform(0.0, 0.7) if kind != "hand" else rng.uniform(0.3, 0.9))
        fill = _shade(fill, rng)
        alpha = _soften(alpha, rng)
        out = out * (1 - alpha[..., None]) + fill * alpha[..., None]
        covered = np.maximum(covered, alpha)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), covered


def _canvas(size: int) -> np.ndarray:
    return np.zeros((size, size), np.uint8)


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points, np.float64) * (1 << SHIFT)).astype(np.int32)


def _line(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, width: float, value: int = 255) -> None:
    cv2.line(canvas, tuple(_fixed(a)), tuple(_fixed(b)), value, max(1, int(round(width))), cv2.LINE_AA, SHIFT)


def _ellipse(canvas: np.ndarray, centre: np.ndarray, axes: tuple[float, float], angle: float,
             thickness: int = -1, value: int = 255) -> None:
    cv2.ellipse(canvas, tuple(_fixed(centre)), tuple(int(round(a * (1 << SHIFT))) for a in axes), angle, 0, 360,
                value, thickness, cv2.LINE_AA, SHIFT)


def _direction(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)])


def _hand(face: FaceGeometry, rng: np.random.Generator, textures: TextureBank, skin: np.ndarray,
          image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Palm + 2-5 fingers + forearm reaching in from beyond the crop, filled with skin."""
    w = face.width
    canvas = _canvas(face.size)
    palm = face.centre + rng.normal(0, 0.3, 2) * w
    angle = rng.uniform(0, 2 * np.pi)            # where the fingers point
    forward = _direction(angle)
    rx, ry = w * rng.uniform(0.16, 0.26), w * rng.uniform(0.2, 0.3)
    _ellipse(canvas, palm, (ry, rx), np.degrees(angle))
    _line(canvas, palm, palm - forward * face.size * 1.5, rx * rng.uniform(1.3, 1.9))   # wrist and forearm
    fingers = int(rng.integers(2, 6))
    spread = rng.uniform(0.15, 0.45)
    for k in range(fingers):
        offset = (k - (fingers - 1) / 2) * spread / max(1, fingers - 1) * 2
        base = palm + _direction(angle + offset) * ry * 0.8
        tip = base + _direction(angle + offset + rng.normal(0, 0.08)) * w * rng.uniform(0.22, 0.45)
        _line(canvas, base, tip, w * rng.uniform(0.07, 0.11))
    if rng.random() < 0.6:                       # thumb, off to one side
        side = angle + rng.choice([-1, 1]) * rng.uniform(0.9, 1.4)
        base = palm + _direction(side) * rx * 0.7
        _line(canvas, base, base + _direction(side + rng.normal(0, 0.3)) * w * rng.uniform(0.18, 0.3),
              w * rng.uniform(0.08, 0.12))
    return canvas.astype(np.float32) / 255.0, _skin_fill(skin, rng, face.size)


def _patch(face: FaceGeometry, rng: np.random.Generator, textures: TextureBank, skin: np.ndarray,
           image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A random blob, ellipse or rotated rectangle cut from a non-face image."""
    w = face.width
    canvas = _canvas(face.size)
    centre = face.centre + rng.normal(0, 0.4, 2) * w
    radius = w * rng.uniform(0.12, 0.45)
    shape = rng.random()
    if shape < 0.45:
        corners = int(rng.integers(5, 11))
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        radii = radius * rng.uniform(0.45, 1.0, corners)
        cv2.fillPoly(canvas, [_fixed(centre + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], 1))],
                     255, cv2.LINE_AA, SHIFT)
    elif shape < 0.7:
        _ellipse(canvas, centre, (radius, radius * rng.uniform(0.3, 1.0)), rng.uniform(0, 180))
    else:
        box = ((float(centre[0]), float(centre[1])), (radius * 2, radius * rng.uniform(0.5, 2.5)), rng.uniform(0, 180))
        cv2.fillPoly(canvas, [_fixed(cv2.boxPoints(box))], 255, cv2.LINE_AA, SHIFT)
    return canvas.astype(np.float32) / 255.0, textures.sample(rng, face.size).astype(np.float32)


def _bar(face: FaceGeometry, rng: np.random.Generator, textures: TextureBank, skin: np.ndarray,
         image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A microphone (ball head near the mouth), pen or stick coming in from the crop's edge."""
    w = face.width
    canvas = _canvas(face.size)
    target = (face.mouth if rng.random() < 0.5 else face.centre) + rng.normal(0, 0.25, 2) * w
    start = target - _direction(rng.uniform(0, 2 * np.pi)) * face.size * 1.5
    width = w * rng.uniform(0.05, 0.18)
    if rng.random() < 0.5:                       # microphone: the stick ends at a ball head
        _line(canvas, start, target, width)
        head = w * rng.uniform(0.1, 0.2)
        _ellipse(canvas, target, (head, head * rng.uniform(0.8, 1.3)), rng.uniform(0, 180))
    else:
        _line(canvas, start, target + (target - start) / np.linalg.norm(target - start) * w * rng.uniform(0, 0.8), width)
    if rng.random() < 0.6:
        tone = rng.uniform(0, 1) ** 2 * 255      # mostly dark, sometimes metal or bright plastic
        fill = np.full((face.size, face.size, 3), tone, np.float32) + rng.normal(0, 12, 3).astype(np.float32)
        fill += rng.normal(0, 4, fill.shape).astype(np.float32)
    else:
        fill = textures.sample(rng, face.size).astype(np.float32)
    return canvas.astype(np.float32) / 255.0, fill


def _hair(face: FaceGeometry, rng: np.random.Generator, textures: TextureBank, skin: np.ndarray,
          image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strands (or a fringe) falling from above the brows over the forehead, eyes or cheek."""
    w = face.width
    canvas = _canvas(face.size)
    across = np.array([face.up[1], -face.up[0]])
    brows = (face.left_eye + face.right_eye) / 2 + face.up * w * 0.15
    top = brows + face.up * w * 0.55
    strands = int(rng.integers(6, 50))
    centre = rng.uniform(-0.5, 0.5)
    spread = rng.uniform(0.1, 0.6)
    thickness = max(1.0, w * rng.uniform(0.006, 0.02))
    fringe = rng.random() < 0.35
    for _ in range(strands):
        x = centre + rng.normal(0, spread)
        a = top + across * x * w
        drop = w * (rng.uniform(0.5, 0.9) if fringe else rng.uniform(0.6, 1.5))
        bend = across * rng.normal(0, 0.2) * w
        b = a - face.up * drop * 0.5 + bend
        c = a - face.up * drop + bend * rng.uniform(0.5, 2.0)
        t = np.linspace(0, 1, 12)[:, None]
        curve = (1 - t) ** 2 * a + 2 * (1 - t) * t * b + t ** 2 * c
        cv2.polylines(canvas, [_fixed(curve)], False, 255, int(round(thickness * (3 if fringe else 1))), cv2.LINE_AA, SHIFT)
    colour = _hair_colour(image, top, rng)
    fill = np.full((face.size, face.size, 3), colour, np.float32)
    fill *= rng.uniform(0.75, 1.25, (face.size, face.size, 1)).astype(np.float32)   # strand sheen
    return canvas.astype(np.float32) / 255.0, fill


def _glasses(face: FaceGeometry, rng: np.random.Generator, textures: TextureBank, skin: np.ndarray,
             image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames around both eyes, bridge and temples; sometimes dark lenses (then the lens covers too)."""
    canvas = _canvas(face.size)
    gap = float(np.linalg.norm(face.right_eye - face.left_eye))
    angle = np.degrees(np.arctan2(*(face.right_eye - face.left_eye)[::-1]))
    rx = gap * rng.uniform(0.36, 0.5)
    ry = rx * rng.uniform(0.55, 0.95)
    thick = max(1, int(round(face.width * rng.uniform(0.012, 0.04))))
    lenses = rng.random() < 0.25
    across = (face.right_eye - face.left_eye) / gap
    for eye, side in ((face.left_eye, -1), (face.right_eye, 1)):
        centre = eye + face.up * gap * rng.uniform(-0.05, 0.05)
        _ellipse(canvas, centre, (rx, ry), angle, -1 if lenses else thick)
        outer = centre + across * side * rx
        _line(canvas, outer, outer + across * side * face.width * 0.35, thick)
    _line(canvas, face.left_eye + across * rx, face.right_eye - across * rx, thick)
    tone = rng.uniform(0, 1) ** 1.5 * 230
    fill = np.full((face.size, face.size, 3), tone, np.float32) + rng.normal(0, 15, 3).astype(np.float32)
    return canvas.astype(np.float32) / 255.0, fill


MAKERS: dict[str, Callable] = {"hand": _hand, "patch": _patch, "bar": _bar, "hair": _hair, "glasses": _glasses}


def _skin_fill(skin: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Another face's skin texture stretched over the crop, mirrored at random."""
    fill = cv2.resize(skin, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if rng.random() < 0.5:
        fill = fill[:, ::-1]
    return fill


def _hair_colour(image: np.ndarray, top: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """This person's hair (the pixels above the forehead) or a random natural hair colour."""
    x, y = np.clip(np.round(top).astype(int), 2, image.shape[0] - 3)
    if rng.random() < 0.6:
        return image[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3).mean(0).astype(np.float32)
    base = np.array([[25, 20, 18], [70, 45, 30], [140, 100, 60], [200, 170, 120], [110, 110, 110]], np.float32)
    return base[rng.integers(len(base))] * rng.uniform(0.8, 1.2)


def _match_colour(fill: np.ndarray, image: np.ndarray, region: np.ndarray, amount: float) -> np.ndarray:
    """Move the fill's mean colour ``amount`` of the way to the face's, so colour alone does not tell."""
    weight = region[..., None]
    face_mean = (image.astype(np.float32) * weight).sum((0, 1)) / max(1.0, float(weight.sum()))
    return fill + amount * (face_mean - fill.reshape(-1, 3).mean(0))


def _shade(fill: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A linear light gradient across the occluder."""
    size = fill.shape[0]
    ramp = np.linspace(-1, 1, size, dtype=np.float32)
    direction = _direction(rng.uniform(0, 2 * np.pi))
    gradient = ramp[None, :] * direction[0] + ramp[:, None] * direction[1]
    return np.clip(fill * (1 + rng.uniform(0, 0.35) * gradient[..., None]), 0, 255)


def _soften(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(0.3, 1.2)
    return np.clip(cv2.GaussianBlur(alpha, (0, 0), sigma), 0.0, 1.0)
