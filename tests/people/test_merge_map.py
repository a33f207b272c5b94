"""``merge --map PERSON=MODEL``: each named person swapped by their own model, everyone else untouched."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cliruns import run_cli
from faceswap.faceset.store import FaceSet
from faceswap.media.image import read_image
from faceswap.media.video import open_source
from faceswap.train.session import run_training
from faceswap.workspace import Workspace
from tiny import TINY, tiny_request


@pytest.fixture
def ws(model_ws, two_people_root) -> Path:
    """A workspace with a tiny model 'sae' and the two-people face set, its people named aoc and katie."""
    shutil.copytree(two_people_root / "facesets" / "two_people", model_ws / "facesets" / "two_people")
    assert run_cli(model_ws, "people", "two_people").exit_code == 0
    table = {r.track: r.box[0] > 256 for _, r in FaceSet(model_ws / "facesets" / "two_people").records()}
    persons = json.loads((model_ws / "facesets" / "two_people" / "people.json").read_text())["persons"]
    for person in persons:
        name = "katie" if table[person["tracks"][0]] else "aoc"
        assert run_cli(model_ws, "people", "name", "two_people", person["id"], name).exit_code == 0
    return model_ws


def _frames(folder: Path) -> list[np.ndarray]:
    return [read_image(p) for p in sorted(folder.glob("frame_*.png"))]


def test_map_swaps_the_named_person_and_leaves_the_other_pixel_identical(ws, two_people_clip, tmp_path):
    out = tmp_path / "aoc_only"
    result = run_cli(ws, "merge", str(two_people_clip), "--map", "aoc=sae", "--frames-out", str(out), "--no-report")
    assert result.exit_code == 0, result.output
    assert "50 frames merged, 50 faces swapped" in result.output
    originals = [f.image for f in open_source(two_people_clip).frames()]
    merged = _frames(out)
    assert len(merged) == 50
    for before, after in zip(originals, merged):
        assert np.array_equal(after[:, 256:], before[:, 256:]), "Katie Hill's half changed"
        assert np.abs(after[:, :256].astype(int) - before[:, :256].astype(int)).mean() > 0.5
    both = run_cli(ws, "merge", str(two_people_clip), "--frames-out", str(tmp_path / "all"), "--no-report")
    assert "50 frames merged, 100 faces swapped" in both.output          # no map: every face, as before


@pytest.mark.slow
def test_each_person_gets_their_own_model(ws, two_people_clip, registry, cpu, tmp_path):
    run_training(tiny_request(1, name="other", model_options={**TINY, "resolution": 96}), Workspace(ws), registry, cpu)
    pairs = {"aoc=sae": "a", "katie=other": "k", "both": "b"}
    for key, name in pairs.items():
        maps = ["--map", "aoc=sae", "--map", "katie=other"] if key == "both" else ["--map", key]
        result = run_cli(ws, "merge", str(two_people_clip), *maps, "--frames-out", str(tmp_path / name),
                         "--no-report", "--no-smooth")
        assert result.exit_code == 0, result.output
    for a, k, b in zip(_frames(tmp_path / "a"), _frames(tmp_path / "k"), _frames(tmp_path / "b")):
        assert np.array_equal(b[:, :256], a[:, :256]) and np.array_equal(b[:, 256:], k[:, 256:])


def test_map_of_someone_not_in_the_video_fails_clearly(ws, two_people_clip, tmp_path):
    result = run_cli(ws, "merge", str(two_people_clip), "--map", "carol=sae", "--frames-out", str(tmp_path / "x"))
    assert result.exit_code == 1 and "--map carol" in result.output and "person-1" in result.output
    bad = run_cli(ws, "merge", str(two_people_clip), "--map", "aoc", "--frames-out", str(tmp_path / "x"))
    assert bad.exit_code == 1 and "PERSON=MODEL" in bad.output


def test_a_merge_session_styles_only_the_mapped_person(ws, two_people_clip, tmp_path):
    session = tmp_path / "s.json"
    session.write_text(json.dumps({"format": "faceswap-merge-session", "schema": 1,
                                   "settings": {"color": "none", "blur": 0.02},
                                   "ranges": [{"start": 0, "end": 9, "settings": {"erode": 0.2, "blur": 0.0}}]}))
    shots = {}
    for name, extra in (("plain", ()), ("session", ("--session", str(session)))):
        out = tmp_path / f"{name}.png"
        result = run_cli(ws, "merge", str(two_people_clip), "--map", "aoc=sae", "--preview-frame", "5",
                         "--color", "none", "--blur", "0.02", "--no-smooth", "-o", str(out), *extra)
        assert result.exit_code == 0, result.output
        assert "1 faces swapped" in result.output
        shots[name] = read_image(out).astype(int)
    before, plain, styled = shots["plain"][:, :512], shots["plain"][:, 512:], shots["session"][:, 512:]
    assert np.array_equal(styled[:, 256:], before[:, 256:]), "Katie Hill's half changed"
    assert np.abs(styled[:, :256] - plain[:, :256]).max() > 30, "frame 5 is in the range: AOC's mask eroded"
