"""Following faces by their landmarks between detections, on real footage."""
import numpy as np
import pytest

from conftest import VIDEO
from faceswap.extract.tracking import FaceFinder
from faceswap.media.video import open_source


@pytest.mark.parametrize("plugin_set", ["insightface_plugins", "mediapipe_plugins"])
def test_tracked_landmarks_match_fresh_detections(plugin_set, request):
    plugins = request.getfixturevalue(plugin_set)
    tracked, fresh = FaceFinder(plugins, 20, 0), FaceFinder(plugins, 20, 0)
    errors = []
    for frame in open_source(VIDEO / "woman_expressions__liveportrait_d6.mp4").frames(every=2):
        if frame.index >= 120:
            break
        a = tracked.find(frame.image)        # detects once, then follows
        fresh.reset()
        b = fresh.find(frame.image)          # detects every frame
        assert len(a) == len(b) == 1
        size = np.ptp(b[0].landmarks.points[17:], axis=0).max()
        errors.append(np.abs(a[0].landmarks.points - b[0].landmarks.points).mean() / size)
    assert np.mean(errors) < 0.02, f"tracked points are {np.mean(errors):.1%} of the face size off"


def test_a_hard_cut_to_a_scene_without_faces_drops_the_track(insightface_plugins):
    # the montage cuts from two people at a desk to a scene with no face at frame 1200
    finder = FaceFinder(insightface_plugins, 20, 0)
    counts = {}
    for frame in open_source(VIDEO / "test_sequences_montage__qcif_57s.mp4").frames(start=1190):
        if frame.index > 1206:
            break
        counts[frame.index] = len(finder.find(frame.image))
    assert counts[1190] >= 1
    assert all(counts[i] == 0 for i in range(1200, 1207)), counts
