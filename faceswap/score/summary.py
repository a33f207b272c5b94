"""Per-face scores -> the figures of a report: each metric's mean and worst 5%, and shares.

Every metric is described here once (label, unit, which way is better, ideal value and a
one-line meaning): the printed table, report.json, the HTML page and the README use it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from faceswap.score.scorer import FaceScore


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    better: str          # "higher" or "lower"
    ideal: float
    span: float          # smallest value range a plot shows (so noise does not look like a trend)
    help: str


METRICS: tuple[Metric, ...] = (
    Metric("cos_source", "identity to source", "cos", "higher", 1.0, 0.2,
           "centred cosine of the swapped face to the source person's mean (dlib ResNet, not used in training)"),
    Metric("cos_destination", "identity to destination", "cos", "lower", 0.0, 0.2,
           "centred cosine of the swapped face to the destination person's mean"),
    Metric("cos_original", "identity to original face", "cos", "lower", 0.0, 0.2,
           "centred cosine of the swapped face to the face it replaced in that frame (1 = unchanged)"),
    Metric("pose_error", "pose error", "deg", "lower", 0.0, 2.0,
           "angle between the head rotations of the original and the swapped face (68-point 3D fit)"),
    Metric("expression_error", "expression error", "IOD", "lower", 0.0, 0.05,
           "eye and mouth landmark distance after aligning on nose and eye corners, over inter-ocular distance"),
    Metric("sharpness", "sharpness", "x real", "higher", 1.0, 0.2,
           "Laplacian RMS inside the face, swapped over original (1.0 = as sharp as the real face)"),
    Metric("jitter", "landmark jitter", "x real", "lower", 1.0, 0.5,
           "frame-to-frame landmark acceleration, swapped over original footage (1.0 = as steady)"),
    Metric("flicker", "colour flicker", "x real", "lower", 1.0, 0.5,
           "frame-to-frame change of the face's mean Lab colour (2nd difference), swapped over original"),
    Metric("blend_delta_e", "seam colour step", "dE", "lower", 0.0, 2.0,
           "Lab difference to the original just inside the edge of the region the swap changed"),
    Metric("seam", "seam edge", "x real", "lower", 1.0, 0.5,
           "gradient strength along that edge, swapped over original (1.0 = no visible seam)"),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}


def per_face_values(faces: Sequence[FaceScore]) -> dict[str, list[tuple[int, float]]]:
    """{metric key: [(face position, value)]} for the faces where the metric exists."""
    jitter_base = _mean([f.jitter_original for f in faces])
    flicker_base = _mean([f.flicker_original for f in faces])
    values: dict[str, list[tuple[int, float]]] = {m.key: [] for m in METRICS}
    for i, face in enumerate(faces):
        for metric in METRICS:
            value = _face_value(face, metric.key, jitter_base, flicker_base)
            if value is not None and math.isfinite(value):
                values[metric.key].append((i, value))
    return values


def summarise(faces: Sequence[FaceScore], source_sets: Sequence[str]) -> dict[str, Any]:
    """{metric: {mean, worst5, n, ...}} plus the identity shares."""
    values = per_face_values(faces)
    summary: dict[str, Any] = {}
    for metric in METRICS:
        numbers = [v for _, v in values[metric.key]]
        summary[metric.key] = {"mean": _round(_mean(numbers)), "worst5": _round(worst_share(numbers, metric.better)),
                               "n": len(numbers), "unit": metric.unit, "better": metric.better,
                               "ideal": metric.ideal}
    summary["closer_to_source"] = _round(_mean([float(f.cos_source > f.cos_destination) for f in faces
                                                if f.cos_source is not None and f.cos_destination is not None]))
    summary["top1_source"] = _round(_mean([float(f.retrieved in source_sets) for f in faces if f.retrieved]))
    summary["pose_error"].update(pose_bias(faces))
    summary["pose_error"]["gain"] = pose_gain(faces)
    summary["jitter"]["original_iod"] = _round(_mean([f.jitter_original for f in faces]))
    summary["flicker"]["original_de"] = _round(_mean([f.flicker_original for f in faces]))
    return summary


def pose_bias(faces: Sequence[FaceScore]) -> dict[str, list[float] | None]:
    """How much of the pose error is one constant turn (yaw, pitch, roll: the mean signed difference,
    as a swap drawn turned, or a face shape the 3D fit reads as turned, gives) and what is left once
    it is taken out (mean |difference - bias| per axis, degrees): the part that fails to follow the head."""
    deltas = np.array([f.axes_delta for f in faces if f.axes_delta is not None], np.float64).reshape(-1, 3)
    if not len(deltas):
        return {"bias": None, "axes": None, "axes_less_bias": None}
    bias = deltas.mean(0)
    return {"bias": [round(float(v), 3) for v in bias], "axes": [round(float(v), 3) for v in np.abs(deltas).mean(0)],
            "axes_less_bias": [round(float(v), 3) for v in np.abs(deltas - bias).mean(0)]}


def pose_gain(faces: Sequence[FaceScore], least_spread: float = 1.0) -> list[float | None] | None:
    """How far the swap turns per degree the original head turns, per axis (yaw, pitch, roll): the
    slope of the swap's angle on the original's over the faces. 1 follows the head fully; a decoder
    that never saw the destination's wider turns draws them smaller (below 1). None for an axis the
    original barely moves on (spread under ``least_spread`` degrees)."""
    pairs = [(f.pose_original, f.axes_delta) for f in faces if f.pose_original is not None and f.axes_delta]
    if len(pairs) < 3:
        return None
    original, delta = (np.array(side, np.float64) for side in zip(*pairs))
    gains: list[float | None] = []
    for axis in range(3):
        spread = original[:, axis].std()
        if spread < least_spread:
            gains.append(None)
            continue
        slope = np.cov(original[:, axis], delta[:, axis], bias=True)[0, 1] / spread ** 2
        gains.append(round(float(1.0 + slope), 3))
    return gains


def headline(summary: dict[str, Any]) -> str:
    """The one-line summary merge prints."""
    def mean(key: str, fmt: str) -> str:
        value = summary[key]["mean"]
        return "n/a" if value is None else format(value, fmt)

    closer = summary["closer_to_source"]
    share = "n/a" if closer is None else f"{closer:.0%}"
    return (f"identity {mean('cos_source', '.2f')} -> source ({share} of faces closer to source), "
            f"pose err {mean('pose_error', '.1f')} deg, expression err {mean('expression_error', '.3f')}, "
            f"sharpness {mean('sharpness', '.2f')}, jitter {mean('jitter', '.2f')}, "
            f"flicker {mean('flicker', '.2f')}, seam dE {mean('blend_delta_e', '.1f')} "
            f"(edge {mean('seam', '.2f')})")


def worst_share(values: Sequence[float], better: str, share: float = 0.05) -> float | None:
    """Mean of the worst ``share`` of the values (at least one)."""
    if not values:
        return None
    ordered = sorted(values, reverse=better == "lower")
    count = max(1, math.ceil(share * len(ordered)))
    return float(np.mean(ordered[:count]))


def _face_value(face: FaceScore, key: str, jitter_base: float | None, flicker_base: float | None) -> float | None:
    if key == "jitter":
        return _ratio(face.jitter_swapped, jitter_base)
    if key == "flicker":
        return _ratio(face.flicker_swapped, flicker_base)
    return getattr(face, key)


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None:
        return None
    return value / base if base > 0 else (1.0 if value == 0 else None)


def _mean(values: Sequence[float | None]) -> float | None:
    numbers = [v for v in values if v is not None]
    return float(np.mean(numbers)) if numbers else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
