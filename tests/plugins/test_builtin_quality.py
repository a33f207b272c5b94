"""Quality of the built-in extract plugins on real footage and photos."""
import numpy as np
from skimage import data as skdata

from conftest import GROUP, PHOTOS, VIDEO
from faceswap.extract.reference import reference_from_photo
from faceswap.media.image import read_image
from faceswap.media.video import open_source


def test_faces_found_in_nearly_every_frame_of_talking_heads(insightface_plugins, mediapipe_plugins):
    for clip in ("aoc__hdtf_wda_000.mp4", "eric_swalwell__retalking_face2.mp4"):
        frames = [f.image for f in open_source(VIDEO / clip).frames(every=5)]
        for plugins in (insightface_plugins, mediapipe_plugins):
            found = [len(d) > 0 for d in plugins.detector.detect(frames)]
            assert np.mean(found) >= 0.95, f"{plugins.detector.name} on {clip}: {np.mean(found):.0%}"


def test_arcface_tells_people_apart(insightface_plugins):
    def embed(path):
        image = read_image(path)
        dets = insightface_plugins.detector.detect([image])
        lms = insightface_plugins.landmarker.landmarks([image], dets)[0]
        return insightface_plugins.identity.embed([image], lms[:1])[0]

    obama = [embed(p) for p in (PHOTOS / "obama" / "obama.jpg", PHOTOS / "obama" / "obama2.jpg")]
    biden = embed(PHOTOS / "biden" / "biden2.jpg")
    assert obama[0] @ obama[1] > 0.4
    assert obama[0] @ biden < 0.25


def test_mirrored_face_keeps_its_identity(insightface_plugins):
    astro = skdata.astronaut()
    vectors = []
    for image in (astro, np.ascontiguousarray(astro[:, ::-1])):
        dets = insightface_plugins.detector.detect([image])
        lms = insightface_plugins.landmarker.landmarks([image], dets)[0]
        vectors.append(insightface_plugins.identity.embed([image], lms)[0])
    assert vectors[0] @ vectors[1] > 0.9


def test_reference_picks_one_person_in_a_group_photo(insightface_plugins):
    group = read_image(GROUP / "two_people.jpg")
    dets = insightface_plugins.detector.detect([group])
    assert len(dets[0]) == 2
    lms = insightface_plugins.landmarker.landmarks([group], dets)[0]
    ids = insightface_plugins.identity.embed([group, group], lms)
    for photo in (PHOTOS / "obama" / "obama.jpg", PHOTOS / "biden" / "biden2.jpg"):
        ref = reference_from_photo(photo, insightface_plugins, threshold=0.35)
        assert sum(ref.matches(list(ids))) == 1, photo.name
