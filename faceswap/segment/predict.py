"""Run a segmentation net on aligned faces: crop from the landmarks, predict, paste back.

The net sees its own crop, fitted to the landmarks at NET_COVERAGE (the stored faces' coverage),
so it works on faces of any stored size or coverage, and the training samples are cut the same
way (``net_crop``). Its probabilities are warped back into the face's pixels; outside its crop
the mask is 0.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from faceswap.align.template import face_matrix
from faceswap.align.umeyama import apply
from faceswap.segment.truth import face_region

NET_COVERAGE = 2.2
OUTSIDE = 30.0            # logit of "surely not face", beyond the net's crop


def net_matrix(points: np.ndarray, resolution: int) -> np.ndarray:
    """``(2, 3)`` face pixels -> net crop pixels for one face's ``(68, 2)`` landmarks (face pixels)."""
    return face_matrix(points.astype(np.float64), resolution, NET_COVERAGE)


def net_crop(image: np.ndarray, matrix: np.ndarray, resolution: int,
             interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Warp ``image`` (a face, or a mask of it) into the net's crop. A face shrunk by more than
    1.5x is first area-averaged, so the crop does not alias (hair, fabric)."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.67 and interpolation != cv2.INTER_NEAREST:
        factor = max(1, int(1.0 / scale))
        small = cv2.resize(image, (image.shape[1] // factor, image.shape[0] // factor), interpolation=cv2.INTER_AREA)
        matrix = matrix.copy()
        matrix[:, :2] *= image.shape[1] / small.shape[1]
        image = small
    return cv2.warpAffine(image, matrix, (resolution, resolution), flags=interpolation,
                          borderMode=cv2.BORDER_REPLICATE if image.ndim == 3 else cv2.BORDER_CONSTANT)


def net_input(crop: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
    """(C, R, R) float32 in [0, 1]: the crop's RGB, then the prior channel when there is one."""
    rgb = crop.astype(np.float32).transpose(2, 0, 1) / 255.0
    return rgb if prior is None else np.concatenate([rgb, prior[None].astype(np.float32)])


@torch.inference_mode()
def predict_masks(net: torch.nn.Module, faces: np.ndarray, landmarks: np.ndarray, batch: int = 32,
                  flip: bool = False) -> np.ndarray:
    """faces (N, S, S, 3) uint8, landmarks (N, 68, 2) face pixels -> (N, S, S) float32 in [0, 1].
    ``flip``: average the logits of each crop and of its mirror image (twice the work)."""
    resolution = net.config.resolution
    size = faces.shape[1]
    device = next(net.parameters()).device
    out = np.full(faces.shape[:3], -OUTSIDE, np.float32)
    for start in range(0, len(faces), batch):
        stop = min(len(faces), start + batch)
        matrices = [net_matrix(landmarks[i], resolution) for i in range(start, stop)]
        inputs = [net_input(net_crop(faces[i], m, resolution),
                            face_region(apply(m, landmarks[i]), resolution) if net.config.prior else None)
                  for i, m in zip(range(start, stop), matrices)]
        x = torch.from_numpy(np.stack(inputs)).to(device)
        if device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        logits = net(x)
        if flip:
            logits = 0.5 * (logits + net(x.flip(-1)).flip(-1))
        logits = logits[:, 0].float().clamp(-OUTSIDE, OUTSIDE).cpu().numpy()
        for k, (logit, matrix) in enumerate(zip(logits, matrices)):
            # warp the logits, not the probabilities: the edge lands between pixels where it should
            out[start + k] = cv2.warpAffine(logit, matrix, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                            borderMode=cv2.BORDER_CONSTANT, borderValue=-OUTSIDE)
            if getattr(net.config, "limit", False):
                # the net's limit again at the face's own resolution: the region's edge stays sharp
                region = face_region(landmarks[start + k], size).clip(1e-3, 1 - 1e-3)
                np.minimum(out[start + k], np.log(region / (1 - region)), out=out[start + k])
    return (1.0 / (1.0 + np.exp(-out))).astype(np.float32)
