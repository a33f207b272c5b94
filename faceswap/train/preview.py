"""Preview grids and loss plots, drawn with OpenCV (no plotting library needed)."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from faceswap.model_api import DESTINATION_DECODER, SOURCE_DECODER, LatentSampler

COLUMNS = ("src", "src rebuilt", "dst", "dst rebuilt", "dst as src")
SINGLE_COLUMNS = ("faces", "rebuilt", "faces", "rebuilt", "sampled")


@torch.no_grad()
def preview_grid(model: torch.nn.Module, src: torch.Tensor, dst: torch.Tensor) -> np.ndarray:
    """(H, W, 3) uint8 RGB: one row per face, columns as COLUMNS. src, dst: (N, 3, R, R) in [0, 1].

    A one-decoder model (vae) shows prior samples instead of the swap.
    """
    was_training = model.training
    model.eval()
    swaps = model.can_swap
    src_rec, _ = model.decode(model.encode(src).code, SOURCE_DECODER)
    dst_code = model.encode(dst).code
    dst_rec, _ = model.decode(dst_code, DESTINATION_DECODER if swaps else 0)
    if swaps:
        last, _ = model.decode(dst_code, SOURCE_DECODER)
    elif isinstance(model, LatentSampler):
        last, _ = model.decode(model.sample(dst.shape[0], generator=torch.Generator().manual_seed(0)), 0)
    else:
        last = dst_rec
    model.train(was_training)
    columns = [src, src_rec, dst, dst_rec, last]
    rows = [torch.cat([c[i] for c in columns], dim=2) for i in range(src.shape[0])]
    grid = torch.cat(rows, dim=1).clamp(0, 1).mul(255).round().byte()
    image = grid.permute(1, 2, 0).cpu().numpy()
    return _header(image, src.shape[-1], COLUMNS if swaps else SINGLE_COLUMNS)


def _header(grid: np.ndarray, cell: int, titles: Sequence[str]) -> np.ndarray:
    bar = np.full((18, grid.shape[1], 3), 32, np.uint8)
    for i, title in enumerate(titles):
        cv2.putText(bar, title, (i * cell + 3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (230, 230, 230), 1, cv2.LINE_AA)
    return np.concatenate([bar, grid], axis=0)


def loss_plot(history: Sequence[dict[str, float]], keys: Sequence[str] = ("src", "dst"),
              size: tuple[int, int] = (640, 320)) -> np.ndarray:
    """(H, W, 3) uint8 RGB line plot of the summed src_* and dst_* losses over iterations."""
    width, height = size
    image = np.full((height, width, 3), 255, np.uint8)
    if len(history) < 2:
        return image
    series = {k: np.array([sum(v for name, v in h.items() if name.startswith(k + "_")) for h in history])
              for k in keys}
    iters = np.array([h.get("iteration", i) for i, h in enumerate(history)], np.float64)
    top = max(float(s.max()) for s in series.values()) * 1.05 or 1.0
    margin = 30
    xs = margin + (iters - iters[0]) / max(1.0, iters[-1] - iters[0]) * (width - 2 * margin)
    colours = {"src": (31, 119, 180), "dst": (214, 39, 40), "mask": (44, 160, 44)}
    cv2.rectangle(image, (margin, margin), (width - margin, height - margin), (200, 200, 200), 1)
    for i, (key, values) in enumerate(series.items()):
        ys = height - margin - values / top * (height - 2 * margin)
        points = np.stack([xs, ys], 1).round().astype(np.int32)
        cv2.polylines(image, [points], False, colours.get(key, (0, 0, 0)), 1, cv2.LINE_AA)
        cv2.putText(image, f"{key} {values[-1]:.4f}", (margin + 5 + 150 * i, margin - 8),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, colours.get(key, (0, 0, 0)), 1, cv2.LINE_AA)
    cv2.putText(image, f"iteration {int(iters[0])}..{int(iters[-1])}", (margin, height - 8),
                cv2.FONT_HERSHEY_SIMPLEX, 0.4, (80, 80, 80), 1, cv2.LINE_AA)
    return image
