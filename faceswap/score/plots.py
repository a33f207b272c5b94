"""Pictures for the report: per-frame curves as inline SVG, face thumbnails as inline JPEG."""
from __future__ import annotations

import base64
import html
from collections.abc import Sequence

import cv2
import numpy as np

WIDTH, HEIGHT, MARGIN = 520, 150, 34


def svg_curve(frames: Sequence[int], values: Sequence[float], ideal: float, title: str,
              min_span: float = 0.0) -> str:
    """A small line plot of ``values`` over frame numbers, with the ideal value dashed."""
    if not values:
        return f'<p class="empty">{html.escape(title)}: not measured</p>'
    xs = np.asarray(frames, np.float64)
    ys = np.asarray(values, np.float64)
    low, high = min(ys.min(), ideal), max(ys.max(), ideal)
    if high - low < min_span:
        middle = (high + low) / 2
        low, high = middle - min_span / 2, middle + min_span / 2
    pad = (high - low) * 0.08 or 0.5
    low, high = low - pad, high + pad
    span_x = max(xs.max() - xs.min(), 1.0)

    def px(x: float) -> float:
        return MARGIN + (x - xs.min()) / span_x * (WIDTH - 2 * MARGIN)

    def py(y: float) -> float:
        return HEIGHT - MARGIN - (y - low) / (high - low) * (HEIGHT - 2 * MARGIN)

    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
    dots = "".join(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="1.8"/>' for x, y in zip(xs, ys))
    return (
        f'<svg class="curve" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">'
        f'<title>{html.escape(title)}</title>'
        f'<rect x="{MARGIN}" y="{MARGIN}" width="{WIDTH - 2 * MARGIN}" height="{HEIGHT - 2 * MARGIN}" class="frame"/>'
        f'<line x1="{MARGIN}" x2="{WIDTH - MARGIN}" y1="{py(ideal):.1f}" y2="{py(ideal):.1f}" class="ideal"/>'
        f'<polyline points="{points}" class="line"/><g class="dots">{dots}</g>'
        f'<text x="{MARGIN}" y="{MARGIN - 10}" class="title">{html.escape(title)}</text>'
        f'<text x="4" y="{py(high - pad):.1f}" class="tick">{high - pad:.3g}</text>'
        f'<text x="4" y="{py(low + pad):.1f}" class="tick">{low + pad:.3g}</text>'
        f'<text x="{MARGIN}" y="{HEIGHT - 10}" class="tick">frame {int(xs.min())}</text>'
        f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 10}" class="tick" text-anchor="end">frame {int(xs.max())}</text>'
        "</svg>"
    )


def jpeg_data_uri(image: np.ndarray, quality: int = 85) -> str:
    """An RGB uint8 image as a ``data:image/jpeg;base64,...`` URI."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode("ascii")


def side_by_side(original: np.ndarray, swapped: np.ndarray, gap: int = 4) -> np.ndarray:
    """original | swapped on one strip (same height)."""
    height = max(original.shape[0], swapped.shape[0])
    spacer = np.full((height, gap, 3), 255, np.uint8)
    return np.concatenate([_pad(original, height), spacer, _pad(swapped, height)], axis=1)


def _pad(image: np.ndarray, height: int) -> np.ndarray:
    if image.shape[0] == height:
        return image
    out = np.full((height, image.shape[1], 3), 255, np.uint8)
    out[:image.shape[0]] = image
    return out
