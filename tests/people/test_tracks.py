"""Face tracks: stored with every face, split at cuts and where the identity jumps, derived for old faces."""
from __future__ import annotations

import shutil
from collections import defaultdict
from itertools import accumulate

import numpy as np

from conftest import VIDEO, cut
from faceswap.atomic import write_atomic
from faceswap.extract.linking import TrackLinker
from faceswap.extract.pipeline import ExtractSettings, extract
from faceswap.faceset.schema import record_to_json
from faceswap.faceset.store import FaceSet, read_face
from faceswap.faceset.table import load_table
from faceswap.media.image import encode_image
from faceswap.media.pngmeta import embed_json
from faceswap.people.tracks import tracks_of

# From frame 600 the montage cuts back and forth between two people at a desk and a sign-language
# presenter, in shots of 1, 1, 2, 2, 3, 3, ... frames (checked frame by frame).
MONTAGE_START = 600
SHOT_LENGTHS = [n for k in range(1, 14) for n in (k, k)]


def _shot_of_frame(frames: int) -> list[int]:
    starts = [0, *accumulate(SHOT_LENGTHS)]
    return [max(i for i, s in enumerate(starts) if s <= f) for f in range(frames)]


def test_tracks_never_cross_a_cut_and_follow_each_face_through_its_shot(tmp_path, insightface_plugins):
    clip = cut(VIDEO / "test_sequences_montage__qcif_57s.mp4", tmp_path / "montage.mp4",
               start=MONTAGE_START / 30, frames=90, copy_audio=False)
    faceset = FaceSet(tmp_path / "montage")
    extract(clip, faceset, insightface_plugins, ExtractSettings(face_size=64, min_size=16))
    shot = _shot_of_frame(90)
    frames_of_track, faces_in_frame = defaultdict(list), defaultdict(int)
    for _, record in faceset.records():
        frames_of_track[record.track].append(record.frame_index)
        faces_in_frame[record.frame_index] += 1
    assert all(len({shot[f] for f in frames}) == 1 for frames in frames_of_track.values()), "a track crosses a cut"
    tracks_in_shot = defaultdict(set)
    for track, frames in frames_of_track.items():
        tracks_in_shot[shot[frames[0]]].add(track)
    for number, tracks in tracks_in_shot.items():
        most_faces = max(faces_in_frame[f] for f in range(90) if shot[f] == number)
        assert len(tracks) == most_faces, f"shot {number}: {len(tracks)} tracks for {most_faces} people"
    assert {len(t) for t in tracks_in_shot.values()} == {1, 2}      # presenter alone, the two at the desk


def test_a_new_identity_in_the_same_place_starts_a_new_track(facesets_root):
    aoc = [r.embedding for _, r in FaceSet(facesets_root / "facesets" / "src").records()]
    katie = [r.embedding for _, r in FaceSet(facesets_root / "facesets" / "dst").records()]
    box = np.array([100, 100, 200, 200], np.float32)
    linker = TrackLinker()
    ids = [linker.link([box], [aoc[0]]), linker.link([box + 2], [aoc[3]]),
           linker.link([box + 4], [katie[0]]), linker.link([box + 2], [katie[5]])]
    assert ids[0] == ids[1] != ids[2] == ids[3]


def test_a_resumed_linker_continues_the_same_tracks(facesets_root):
    aoc = [r.embedding for _, r in FaceSet(facesets_root / "facesets" / "src").records()]
    boxes = [np.array([10 + i, 10, 110 + i, 110], np.float32) for i in range(6)]
    frames = [np.full((64, 64, 3), 40 * i, np.uint8) for i in range(6)]     # a slow fade: no cut
    whole, first = TrackLinker(), TrackLinker()
    expected = []
    for frame, box, vector in zip(frames, boxes, aoc):
        whole.new_frame(frame)
        expected += whole.link([box, box + 300], [vector, None])
    got = []
    for frame, box, vector in zip(frames[:3], boxes, aoc):
        first.new_frame(frame)
        got += first.link([box, box + 300], [vector, None])
    resumed = TrackLinker(first.state())
    for frame, box, vector in zip(frames[3:], boxes[3:], aoc[3:]):
        resumed.new_frame(frame)
        got += resumed.link([box, box + 300], [vector, None])
    assert got == expected and len(set(got)) == 2


def test_faces_from_before_tracks_get_tracks_derived_from_their_neighbours(two_people_root, tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(two_people_root / "facesets" / "two_people", folder)
    for path in FaceSet(folder).face_paths():          # rewrite every face as schema 2 wrote it: no track
        image, record = read_face(path)
        data = record_to_json(record)
        del data["track"]
        data["schema"] = 2
        write_atomic(path, embed_json(encode_image(image, ".png"), data))
    table = load_table(FaceSet(folder))
    assert (table["track"] == -1).all()
    tracks = tracks_of(table)
    assert len(tracks) == 2 and all(t.key < 0 for t in tracks)
    for track in tracks:
        sides = {bool(x) for x in (table.boxes[track.rows, 0] > 256)}
        assert len(sides) == 1 and track.faces == 50      # each derived track is one person, whole
