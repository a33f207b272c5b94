"""Arithmetic shared by the colour transfers: mask weights, weighted moments, 1-D CDF matching.

Every statistic is weighted by the mask, so the background of the aligned crop never
steers the face's colours; the fitted mapping is then applied to every pixel.
"""
from __future__ import annotations

import numpy as np

# Below one pixel's worth of mask there is nothing to measure: transfers return the face.
MIN_WEIGHT = 1.0
# Added to covariance eigenvalues so flat (single-colour) faces do not blow up the mapping.
COV_FLOOR = 1e-5


def pixels(image: np.ndarray) -> np.ndarray:
    """(S, S, 3) -> (S*S, 3) float32 (a view when the input already is float32)."""
    return np.asarray(image, np.float32).reshape(-1, 3)


def weights(mask: np.ndarray) -> np.ndarray | None:
    """Flat per-pixel weights in [0, 1], or None when the mask selects (almost) nothing."""
    w = np.clip(np.asarray(mask, np.float32).reshape(-1), 0.0, 1.0)
    return w if float(w.sum(dtype=np.float64)) >= MIN_WEIGHT else None


def mean_std(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted per-channel mean and standard deviation of (N, C) samples (float64)."""
    total = w.sum(dtype=np.float64)
    mean = (w.astype(np.float64) @ x) / total
    var = (w.astype(np.float64) @ np.square(x - mean)) / total
    return mean, np.sqrt(var)


def mean_cov(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean (C,) and covariance (C, C) of (N, C) samples, float64."""
    w64 = w.astype(np.float64)
    total = w64.sum()
    mean = (w64 @ x) / total
    centred = x - mean
    cov = (centred * w64[:, None]).T @ centred / total
    return mean, cov + COV_FLOOR * np.eye(x.shape[1])


def sym_power(cov: np.ndarray, power: float) -> np.ndarray:
    """cov ** power for a symmetric positive (semi)definite matrix, via its eigen-decomposition."""
    values, vectors = np.linalg.eigh(cov)
    # only round-off can make these negative: products of covariances (as in mkl) are
    # legitimately far below COV_FLOOR, so clamping harder would distort them
    values = np.maximum(values, 1e-15)
    return (vectors * values**power) @ vectors.T


def match_1d(source: np.ndarray, source_w: np.ndarray, target: np.ndarray, target_w: np.ndarray,
             bins: int) -> np.ndarray:
    """Move 1-D samples ``source`` so their weighted distribution matches ``target``'s.

    Histograms (bincount, linear time) give both CDFs on shared bin edges; the monotone map
    CDF_target^-1(CDF_source(x)) is tabulated at the edges and interpolated in between.
    """
    lo = min(float(source.min()), float(target.min()))
    hi = max(float(source.max()), float(target.max()))
    span = max(hi - lo, 1e-6)
    scale = bins / span
    hist_s = np.bincount(np.minimum(((source - lo) * scale).astype(np.intp), bins - 1), source_w, bins)
    hist_t = np.bincount(np.minimum(((target - lo) * scale).astype(np.intp), bins - 1), target_w, bins)
    # a trace of mass in every bin keeps the target CDF strictly increasing, so it inverts
    hist_t += 1e-4 * hist_t.sum() / bins + 1e-12
    cdf_s = np.concatenate(([0.0], np.cumsum(hist_s)))
    cdf_t = np.concatenate(([0.0], np.cumsum(hist_t)))
    cdf_s /= max(cdf_s[-1], 1e-12)
    cdf_t /= cdf_t[-1]
    edges = lo + np.arange(bins + 1) / scale
    mapped = np.interp(cdf_s, cdf_t, edges)
    return np.interp(source, edges, mapped).astype(np.float32)


def finish(face: np.ndarray, result: np.ndarray, strength: float) -> np.ndarray:
    """Mix ``strength`` of the transferred colours into the face, clip to [0, 1], float32."""
    face = np.asarray(face, np.float32)
    result = np.asarray(result, np.float32).reshape(face.shape)
    if strength < 1.0:
        result = face + np.float32(strength) * (result - face)
    return np.clip(result, 0.0, 1.0)
