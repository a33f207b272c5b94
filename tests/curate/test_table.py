"""The face table: measured once, cached with the set, re-measured only where files changed."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from faceswap.faceset.store import FaceSet
from faceswap.faceset.table import CACHE_NAME, load_table
from faceswap.locking import exclusive_lock


@pytest.fixture
def faces(tmp_path, two_people_root) -> FaceSet:
    shutil.copytree(two_people_root / "facesets" / "two_people", tmp_path / "two_people")
    return FaceSet(tmp_path / "two_people")


def test_faces_are_measured_once_and_only_changes_are_measured_again(faces):
    first = load_table(faces)
    assert first.measured == 100 and (faces.folder / CACHE_NAME).is_file()
    again = load_table(faces)
    assert again.measured == 0 and again.names == first.names
    for key in first.columns:
        assert np.array_equal(again[key], first[key]), key
    assert np.array_equal(again.embeddings, first.embeddings) and np.array_equal(again.thumbs, first.thumbs)
    paths = faces.face_paths()
    shutil.copy(paths[3], faces.faces_dir / "000777_00.png")     # a face added
    paths[5].unlink()                                           # a face deleted
    paths[7].write_bytes(paths[9].read_bytes())                 # a face replaced by another (other size)
    changed = load_table(faces)
    assert changed.measured == 2 and len(changed) == 100
    assert paths[5].name not in changed.names
    row, source = changed.names.index(paths[7].name), changed.names.index(paths[9].name)
    assert changed["frame"][row] == changed["frame"][source]      # measured again: the new file's record
    assert load_table(faces).measured == 0


def test_the_table_says_what_a_face_is(faces):
    table = load_table(faces)
    assert table.has_embedding.all() and table.embeddings.shape == (100, 512)
    assert np.allclose(np.linalg.norm(table.embeddings, axis=1), 1.0, atol=1e-4)
    assert set(np.unique(table["track"])) == {0, 1}
    assert (table["align_error"] < 0.07).all() and (np.abs(table["yaw"]) < 30).all()
    assert (table.box_size > 80).all() and (table["sharpness"] > 0).all()


def test_a_set_being_written_is_measured_but_not_cached(faces):
    with exclusive_lock(faces.folder, "face set"):
        table = load_table(faces)
    assert len(table) == 100 and not (faces.folder / CACHE_NAME).exists()
