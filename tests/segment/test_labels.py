"""``faceswap mask label``: polygons from JSON or CSV into the face records, errors in one line."""
from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from faceswap.cli.main import cli
from segment_helpers import mask_ws  # noqa: F401 (a fixture)
from faceswap.faceset.store import FaceSet, read_face, read_record


def run(ws, *args):
    return CliRunner().invoke(cli, ["--workspace", str(ws), "--device", "cpu", *args])


INCLUDE = [[30, 25], [98, 25], [100, 110], [28, 110]]
EXCLUDE = [[50, 70], [80, 70], [80, 100], [50, 100]]


def _faces(ws, name="src"):
    return FaceSet(ws / "facesets" / name).face_paths()


def test_json_labels_are_stored_in_the_named_faces_and_pixels_stay(mask_ws, tmp_path):
    first, second = _faces(mask_ws)[:2]
    before = read_face(first)[0]
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"faces": {first.name: [{"kind": "include", "points": INCLUDE},
                                                         {"kind": "exclude", "points": EXCLUDE}]}}))
    result = run(mask_ws, "mask", "label", "src", str(labels))
    assert result.exit_code == 0, result.output
    assert "2 polygons imported into 1 faces" in result.output
    record = read_record(first)
    assert [label.kind for label in record.labels] == ["include", "exclude"]
    assert np.array_equal(record.labels[1].points, np.array(EXCLUDE, np.float32))
    assert read_record(second).labels == ()
    assert np.array_equal(read_face(first)[0], before), "the face pixels are untouched"
    assert FaceSet(mask_ws / "facesets" / "src").verify() is None, "the set is still complete"


def test_csv_gives_the_same_labels_as_json_and_append_adds(mask_ws, tmp_path):
    face = _faces(mask_ws)[0]
    rows = ["face,polygon,kind,x,y"]
    rows += [f"{face.name},0,include,{x},{y}" for x, y in INCLUDE]
    rows += [f"{face.name},1,exclude,{x},{y}" for x, y in EXCLUDE]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    assert run(mask_ws, "mask", "label", "src", str(tmp_path / "labels.csv")).exit_code == 0
    from_csv = read_record(face).labels
    assert [label.kind for label in from_csv] == ["include", "exclude"]
    assert np.array_equal(from_csv[0].points, np.array(INCLUDE, np.float32))
    (tmp_path / "more.json").write_text(json.dumps({"faces": {face.name: [{"kind": "exclude", "points": EXCLUDE}]}}))
    assert run(mask_ws, "mask", "label", "src", str(tmp_path / "more.json"), "--append").exit_code == 0
    assert len(read_record(face).labels) == 3
    assert run(mask_ws, "mask", "label", "src", str(tmp_path / "more.json")).exit_code == 0
    assert len(read_record(face).labels) == 1, "without --append a face's labels are replaced"


def test_labels_drawn_at_another_size_are_scaled_to_the_face(mask_ws, tmp_path):
    face = _faces(mask_ws)[0]          # stored at 128 px
    (tmp_path / "l.json").write_text(json.dumps({"size": 256, "faces": {face.name: [{"kind": "include",
                                                                                     "points": INCLUDE}]}}))
    assert run(mask_ws, "mask", "label", "src", str(tmp_path / "l.json")).exit_code == 0
    assert np.allclose(read_record(face).labels[0].points, np.array(INCLUDE, np.float32) / 2)


def test_label_file_errors_are_one_line_and_change_nothing(mask_ws, tmp_path):
    face = _faces(mask_ws)[0]
    cases = {
        "unknown.json": ({"faces": {"999999_00.png": [{"kind": "include", "points": INCLUDE}]}}, "has no face 999999_00.png"),
        "kind.json": ({"faces": {face.name: [{"kind": "keep", "points": INCLUDE}]}}, "kind 'keep' is not include or exclude"),
        "short.json": ({"faces": {face.name: [{"kind": "exclude", "points": INCLUDE[:2]}]}}, "at least 3 finite"),
        "shape.json": ({"polygons": []}, "not a label file"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(json.dumps(content))
        result = run(mask_ws, "mask", "label", "src", str(tmp_path / name))
        assert result.exit_code == 1, result.output
        assert result.output.startswith("error: ") and message in result.output and result.output.count("\n") == 1
    assert read_record(face).labels == ()
    result = run(mask_ws, "mask", "label", "nosuchset", str(tmp_path / "kind.json"))
    assert result.exit_code == 1 and "no face set 'nosuchset'" in result.output
