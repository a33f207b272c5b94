"""``faceswap people`` on real footage of two people, naming them, and using one person's faces."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cliruns import error_lines, run_cli
from conftest import PHOTOS
from faceswap.faceset.store import FaceSet
from faceswap.faceset.table import load_table
from faceswap.media.image import read_image, write_image
from faceswap.media.pngmeta import read_json
from faceswap.media.sheet import PROVENANCE_KEY
from faceswap.media.video import open_source
from faceswap.merge.outputs import PROVENANCE_KEY as MERGE_PROVENANCE_KEY
from faceswap.people.identify import identify
from faceswap.people.selection import faces_of
from faceswap.train.session import run_training
from faceswap.workspace import Workspace
from tiny import tiny_request


@pytest.fixture
def ws(tmp_path, two_people_root) -> Path:
    shutil.copytree(two_people_root, tmp_path / "ws")
    return tmp_path / "ws"


def _sides(ws: Path, person: dict) -> set[bool]:
    """Which halves of the frame a person's faces are on (True: right, where Katie Hill is)."""
    table = load_table(FaceSet(ws / "facesets" / "two_people"))
    rows = np.isin(table["track"], person["tracks"])
    return {bool(x) for x in (table.boxes[rows, 0] + table.boxes[rows, 2]) / 2 > 256}


def test_people_finds_the_two_people_of_a_clip_and_keeps_them_apart(ws, two_people_clip):
    result = run_cli(ws, "people", str(two_people_clip))
    assert result.exit_code == 0, result.output
    assert "100 faces in 2 tracks, 2 people" in result.output
    assert "person-1" in result.output and "person-2" in result.output and "0:00.0-0:02.0" in result.output
    persons = json.loads((ws / "facesets" / "two_people" / "people.json").read_text())["persons"]
    assert len(persons) == 2
    assert [_sides(ws, p) for p in persons] in ([{False}, {True}], [{True}, {False}]), "a person holds faces of both"
    sheet = ws / "output" / "two_people_people.png"
    assert read_image(sheet).shape[0] > 2 * 96
    assert PROVENANCE_KEY == MERGE_PROVENANCE_KEY
    assert "made with faceswap" in read_json(sheet, PROVENANCE_KEY.encode()).lower()


def test_names_stay_with_their_person(ws):
    assert run_cli(ws, "people", "two_people").exit_code == 0
    named = run_cli(ws, "people", "name", "two_people", "person-2", "bob")
    assert named.exit_code == 0 and "person-2 (bob)" in named.output, named.output
    again = run_cli(ws, "people", "two_people")
    assert "person-2 (bob)" in again.output
    fresh = run_cli(ws, "people", "two_people", "--fresh")
    assert fresh.exit_code == 0 and "(bob)" in fresh.output
    persons = json.loads((ws / "facesets" / "two_people" / "people.json").read_text())["persons"]
    bob = next(p for p in persons if p["name"] == "bob")
    assert bob["id"] == "person-2"
    taken = run_cli(ws, "people", "name", "two_people", "person-1", "bob")
    assert taken.exit_code == 1 and "already person-2 (bob)" in error_lines(taken.output)[0]
    bad = run_cli(ws, "people", "name", "two_people", "person-1", "al:ice")
    assert bad.exit_code == 1 and "cannot name a person" in bad.output
    missing = run_cli(ws, "people", "name", "two_people", "person-9", "carol")
    assert missing.exit_code == 1 and "no person 'person-9'" in missing.output


def test_ref_photo_says_which_person_it_is(ws, two_people_clip, tmp_path):
    assert run_cli(ws, "people", "two_people").exit_code == 0
    frame = next(iter(open_source(two_people_clip).frames(start=30)))
    write_image(tmp_path / "katie.png", frame.image[:, 256:])         # Katie Hill, cut from the clip itself
    persons = json.loads((ws / "facesets" / "two_people" / "people.json").read_text())["persons"]
    katie = next(p["id"] for p in persons if _sides(ws, p) == {True})
    result = run_cli(ws, "people", "two_people", "--ref", str(tmp_path / "katie.png"))
    assert result.exit_code == 0 and f"katie.png is {katie}" in result.output, result.output
    nobody = run_cli(ws, "people", "two_people", "--ref", str(PHOTOS / "obama" / "obama.jpg"))
    assert "obama.jpg is nobody here" in nobody.output


def _name_katie(ws: Path) -> None:
    assert run_cli(ws, "people", "two_people").exit_code == 0
    persons = json.loads((ws / "facesets" / "two_people" / "people.json").read_text())["persons"]
    katie = next(p["id"] for p in persons if _sides(ws, p) == {True})
    assert run_cli(ws, "people", "name", "two_people", katie, "katie").exit_code == 0


def test_training_on_one_named_person_uses_only_her_faces(ws, facesets_root, registry, cpu):
    shutil.copytree(facesets_root / "facesets" / "src", ws / "facesets" / "src")
    _name_katie(ws)
    paths = faces_of(Workspace(ws), "two_people:katie")
    table = load_table(FaceSet(ws / "facesets" / "two_people"))
    right = {n for n, box in zip(table.names, table.boxes) if box[0] > 256}
    assert len(paths) == 50 and {p.name for p in paths} == right
    summary = run_training(tiny_request(1, dst=("two_people:katie",)), Workspace(ws), registry, cpu)
    assert summary.iteration == 1
    info = json.loads((ws / "models" / "sae" / "model.json").read_text())
    assert info["facesets"]["dst"] == ["two_people:katie"]
    nobody = run_cli(ws, "train", "--dst", "two_people:carol", "--iters", "1")
    assert nobody.exit_code == 1 and "no person 'carol'" in nobody.output


@pytest.mark.slow
def test_extract_person_keeps_only_her_tracks(ws, two_people_clip):
    _name_katie(ws)
    result = run_cli(ws, "extract", str(two_people_clip), "--name", "only_katie", "--person", "katie", "--size", "64")
    assert result.exit_code == 0, result.output
    boxes = [r.box for _, r in FaceSet(ws / "facesets" / "only_katie").records()]
    assert len(boxes) == 50 and all(box[0] > 256 for box in boxes)
    unknown = run_cli(ws, "extract", str(two_people_clip), "--name", "x", "--person", "carol")
    assert unknown.exit_code == 1 and "nobody is named 'carol'" in unknown.output


def test_a_new_track_joins_the_person_it_resembles(two_people_root, tmp_path):
    """A resumed extract adds a track: it goes to the person it resembles, ids and names stay."""
    shutil.copytree(two_people_root / "facesets" / "two_people", tmp_path / "two_people")
    table = load_table(FaceSet(tmp_path / "two_people"))
    first = identify(table, None)
    named = first.roster.renamed(first.roster.persons[1].id, "bob", tmp_path)
    bob_track = named.persons[1].tracks[0]
    later = table["frame"] >= 25
    tracks = np.where((table["track"] == bob_track) & later, 7, table["track"])    # as if a resumed extract
    resumed = identify(dataclasses.replace(table, columns={**table.columns, "track": tracks}), named)
    assert [(p.id, p.name) for p in resumed.roster.persons] == [(p.id, p.name) for p in named.persons]
    assert set(resumed.roster.find("bob").tracks) == {bob_track, 7}
    assert len(resumed.rows_of(resumed.roster.find("bob"))) == 50
