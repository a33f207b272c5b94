"""``faceswap faces clean`` / ``restore``: bad faces leave faces/ for rejected/, nothing is ever lost."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from cliruns import run_cli
from faceswap.atomic import write_atomic
from faceswap.curate.cleaning import CleanRules, find_rejects
from faceswap.faceset.schema import record_to_json
from faceswap.faceset.store import FaceSet, read_face
from faceswap.faceset.table import load_table
from faceswap.media.image import encode_image
from faceswap.media.pngmeta import embed_json
from faceswap.merge.pipeline import faces_by_frame
from faceswap.people.selection import faces_of
from faceswap.train.samples import FacePairDataset, SampleConfig
from faceswap.ui import gallery
from faceswap.workspace import Workspace


def _digests(folder: Path) -> dict[str, str]:
    """{file name: sha256} of every face PNG in faces/ and rejected/."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("faces", "rejected") for p in (folder / sub).glob("*.png")}


def _add_copy(faces: FaceSet, source_index: int, name: str, change) -> None:
    image, record = read_face(faces.face_paths()[source_index])
    write_atomic(faces.faces_dir / name, embed_json(encode_image(change(image), ".png"), record_to_json(record)))


@pytest.fixture
def ws(tmp_path, two_people_root) -> Path:
    """The two-people set plus two blurred copies and an exact copy of real faces."""
    shutil.copytree(two_people_root, tmp_path / "ws")
    faces = FaceSet(tmp_path / "ws" / "facesets" / "two_people")
    _add_copy(faces, 10, "000900_00.png", lambda im: cv2.GaussianBlur(im, (0, 0), 2.5))
    _add_copy(faces, 61, "000901_01.png", lambda im: cv2.GaussianBlur(im, (0, 0), 2.5))
    shutil.copy(faces.face_paths()[30], faces.faces_dir / "000902_00.png")
    return tmp_path / "ws"


def test_clean_moves_bad_faces_and_restore_brings_every_byte_back(ws):
    folder = ws / "facesets" / "two_people"
    before = _digests(folder)
    dry = run_cli(ws, "faces", "clean", "two_people", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would move 3 of 103 faces" in dry.output and _digests(folder) == before
    assert not (folder / "rejected").exists()
    result = run_cli(ws, "faces", "clean", "two_people")
    assert result.exit_code == 0 and "moved 3 of 103 faces" in result.output, result.output
    rejected = sorted(p.name for p in (folder / "rejected").glob("*.png"))
    assert rejected == ["000900_00.png", "000901_01.png", "000902_00.png"]
    reasons = json.loads((folder / "rejected" / "rejected.json").read_text())
    assert reasons["000900_00.png"]["reasons"][0].startswith("blurry")
    assert reasons["000902_00.png"]["reasons"] == [f"duplicate of {FaceSet(folder).face_paths()[30].name}"]
    assert _digests(folder) == before, "a face was lost or changed"
    restored = run_cli(ws, "faces", "restore", "two_people")
    assert restored.exit_code == 0 and "restored 3 faces" in restored.output
    assert _digests(folder) == before and not list((folder / "rejected").glob("*.png"))
    assert sorted(p.name for p in (folder / "faces").glob("*.png")) == sorted(before)


def test_training_and_merge_ignore_rejected_faces(tmp_path, two_people_root):
    ws = tmp_path / "plain"
    shutil.copytree(two_people_root, ws)
    folder = ws / "facesets" / "two_people"
    faces = FaceSet(folder)
    (folder / "rejected").mkdir()
    for path in faces.face_paths():
        if 10 <= int(path.name[:6]) < 20:
            path.rename(folder / "rejected" / path.name)
    names = {p.name for p in faces_of(Workspace(ws), "two_people")}
    assert len(names) == 80 and not names & {p.name for p in (folder / "rejected").iterdir()}
    dataset = FacePairDataset(faces_of(Workspace(ws), "two_people"), faces.face_paths(),
                              SampleConfig(resolution=64, coverage=1.6), seed=1)
    picked = {dataset.paths["src"][dataset.pick("src", np.random.default_rng(i))].name for i in range(400)}
    assert picked <= names and len(picked) > 60
    assert not set(faces_by_frame(faces)) & set(range(10, 20))
    assert len(load_table(faces)) == 80


def test_rules_find_what_they_name(ws):
    faces = FaceSet(ws / "facesets" / "two_people")
    table = load_table(faces)
    assert find_rejects(table, CleanRules(blur=None, duplicate=None, min_size=1000)).keys() == set(range(len(table)))
    off = CleanRules(blur=None, min_size=None, duplicate=None, outlier=None, align_error=None)
    assert find_rejects(table, off) == {}
    only_align = CleanRules(blur=None, min_size=None, duplicate=None, outlier=None, align_error=0.0)
    assert len(find_rejects(table, only_align)) == len(table)
    skipped = run_cli(ws, "faces", "clean", "two_people", "--dry-run", "--skip", "blur", "--skip", "duplicate")
    assert "would move 0 of 103" in skipped.output


def test_a_face_of_another_person_is_an_identity_outlier(ws):
    faces = FaceSet(ws / "facesets" / "two_people")
    # Katie Hill's pixels and identity under one of AOC's records: a face that joined the wrong track
    katie_image, katie = read_face(next(p for p in faces.face_paths() if p.name.endswith("_01.png")))
    _, aoc = read_face(faces.face_paths()[0])
    stray = record_to_json(aoc)
    stray["embedding"] = record_to_json(katie)["embedding"]
    write_atomic(faces.faces_dir / "000903_00.png", embed_json(encode_image(katie_image, ".png"), stray))
    result = run_cli(ws, "faces", "clean", "two_people", "--dry-run", "--skip", "blur", "--skip", "duplicate")
    lines = [line.strip() for line in re.split(r"[\r\n]", result.output) if line.strip().startswith("0009")]
    assert lines == [line for line in lines if "000903_00.png" in line] and "identity outlier" in lines[0]


def test_the_web_gallery_and_the_cli_share_rejected(ws):
    """The UI's face set browser (called without a browser) and 'faces clean/restore' use one rejected/."""
    folder = ws / "facesets" / "two_people"
    before = _digests(folder)
    faces = FaceSet(folder)
    picked = [p.name for p in faces.face_paths()[:2]]
    assert gallery.reject(faces, [*picked, "000999_00.png"]) == picked          # a missing face is skipped
    reasons = json.loads((folder / "rejected" / "rejected.json").read_text())
    assert set(reasons) == set(picked) and reasons[picked[0]]["reasons"] == ["rejected in faceswap ui"]
    assert run_cli(ws, "faces", "clean", "two_people").exit_code == 0       # adds its 3 to the same folder
    assert len(gallery.rejected_names(faces)) == 5
    assert gallery.restore(faces, [picked[0]]) == [picked[0]]
    assert set(json.loads((folder / "rejected" / "rejected.json").read_text())) == set(gallery.rejected_names(faces))
    assert run_cli(ws, "faces", "restore", "two_people").exit_code == 0
    assert _digests(folder) == before and not gallery.rejected_names(faces)
