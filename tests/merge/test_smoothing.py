"""Temporal smoothing of landmarks on real footage."""
import numpy as np

from conftest import VIDEO
from faceswap.extract.tracking import FaceFinder
from faceswap.media.video import open_source
from faceswap.merge.smoothing import LandmarkSmoother, SmoothingConfig


def _jitter(tracks: np.ndarray) -> float:
    """Mean size of frame-to-frame second differences (acceleration): high for jitter."""
    return float(np.abs(np.diff(tracks, n=2, axis=0)).mean())


def test_one_euro_smoothing_removes_jitter_but_follows_the_face(insightface_plugins):
    finder = FaceFinder(insightface_plugins, 20, 1)
    raw = []
    for frame in open_source(VIDEO / "man_glasses__liveportrait_d9.mp4").frames():
        if frame.index >= 90:
            break
        finder.reset()                                # detect every frame: the noisiest input
        raw.append(finder.find(frame.image)[0].landmarks.points)
    raw = np.stack(raw)
    smoother = LandmarkSmoother(SmoothingConfig(), fps=30)
    smooth = np.stack([smoother.smooth([points])[0] for points in raw])
    assert _jitter(smooth) < 0.6 * _jitter(raw)
    face_size = np.ptp(raw[0, 17:], axis=0).max()
    lag = np.abs(smooth - raw).mean(axis=(1, 2))
    assert lag.max() < 0.03 * face_size, "smoothed points stay within 3% of the face size"


def test_two_faces_keep_their_own_tracks():
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 100, (68, 2)).astype(np.float32)
    left, right = base, base + np.array([400, 0], np.float32)
    smoother = LandmarkSmoother(SmoothingConfig(), fps=25)
    for step in range(10):
        a, b = smoother.smooth([right + step, left - step])      # order swaps don't matter
    assert np.abs(a - (right + 9)).max() < 10 and np.abs(b - (left - 9)).max() < 10
