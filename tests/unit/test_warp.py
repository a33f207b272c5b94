"""Crop a real face to the template and paste it back."""
import numpy as np

from conftest import VIDEO
from faceswap.align.template import RIGHT_EYE, LEFT_EYE, template_pixels
from faceswap.align.warp import align_face, points_to_face, warp_to_frame
from faceswap.media.video import open_source


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


def test_crop_then_paste_back_round_trips(insightface_plugins):
    frame = next(open_source(VIDEO / "katie_hill__hdtf_wda_000.mp4").frames()).image
    dets = insightface_plugins.detector.detect([frame])
    landmarks = insightface_plugins.landmarker.landmarks([frame], dets)[0][0]
    # a crop at least as large as the face in the frame keeps all detail
    face = align_face(frame, landmarks, size=512, coverage=1.6)
    back = warp_to_frame(face.image, face.matrix, (frame.shape[1], frame.shape[0]))
    inside = warp_to_frame(np.full((512, 512), 255, np.uint8), face.matrix, (frame.shape[1], frame.shape[0])) == 255
    inside = np.asarray(inside)
    assert inside.sum() > 0.2 * inside.size
    assert _psnr(back[inside], frame[inside]) > 30


def test_aligned_eyes_land_on_the_template(insightface_plugins, mediapipe_plugins):
    """At 256 px the inner face is ~116 px wide; people's eye spacing differs from the mean
    face by a few percent, so a few pixels is what a good similarity fit leaves."""
    target = template_pixels(256, 2.2)
    for clip in ("obama__weekly_address.mp4", "katie_hill__hdtf_wda_000.mp4"):
        frames = [f.image for f in open_source(VIDEO / clip).frames(every=40)]
        for plugins in (insightface_plugins, mediapipe_plugins):
            dets = plugins.detector.detect(frames)
            errors = []
            for frame, lms in zip(frames, plugins.landmarker.landmarks(frames, dets)):
                face = align_face(frame, lms[0], 256, 2.2)
                points = points_to_face(lms[0].points, face.matrix)
                errors += [np.linalg.norm(points[eye].mean(0) - target[eye].mean(0)) for eye in (RIGHT_EYE, LEFT_EYE)]
            name = plugins.detector.name
            assert np.mean(errors) < 5.0, f"{name} on {clip}: eyes {np.mean(errors):.1f} px off on average"
            assert np.max(errors) < 8.0, f"{name} on {clip}: an eye {np.max(errors):.1f} px off"
