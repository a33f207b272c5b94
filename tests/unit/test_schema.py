"""Face records: round trip, validation, schema versions."""
import dataclasses

import numpy as np
import pytest

from faceswap.errors import FaceSetError
from faceswap.faceset import schema
from faceswap.faceset.schema import FaceRecord, MaskLabel, Producer, record_from_json, record_to_json


def _record() -> FaceRecord:
    rng = np.random.default_rng(3)
    mask = np.zeros((64, 64), np.uint8)
    mask[10:50, 12:52] = 255
    return FaceRecord(
        source="clip.mp4", frame_index=42, pts=1.68, frame_size=(640, 360), face_index=1,
        box=np.array([10.5, 20.25, 110.0, 140.0], np.float32), detection_score=0.87,
        keypoints=rng.uniform(0, 100, (5, 2)).astype(np.float32),
        landmarks=rng.uniform(0, 100, (68, 2)).astype(np.float32), landmark_score=0.9,
        matrix=rng.normal(size=(2, 3)), size=64, coverage=2.2, masks={"extended": mask},
        embedding=(v := rng.normal(size=512).astype(np.float32)) / np.linalg.norm(v),
        producers=(Producer("detector", "scrfd", "1.0", {"threshold": 0.5}),),
    )


def test_record_round_trips_through_json():
    record = _record()
    back = record_from_json(record_to_json(record), "test")
    assert back.matrix.tolist() == record.matrix.tolist()          # full precision
    assert np.allclose(back.landmarks, record.landmarks, atol=1e-3)
    assert np.array_equal(back.masks["extended"], record.masks["extended"])
    assert np.array_equal(back.embedding, record.embedding)
    assert back.producers == record.producers and back.frame_size == (640, 360)
    assert back.mask().max() == 1.0 and back.mask().dtype == np.float32


def test_invalid_record_names_the_file():
    data = record_to_json(_record())
    data["landmarks"]["points"] = data["landmarks"]["points"][:10]
    with pytest.raises(FaceSetError, match="faces/000042_01.png: invalid face record"):
        record_from_json(data, "faces/000042_01.png")


def test_newer_schema_asks_for_an_upgrade():
    data = record_to_json(_record())
    data["schema"] = schema.SCHEMA_VERSION + 1
    with pytest.raises(FaceSetError, match="upgrade faceswap"):
        record_from_json(data, "x")


def test_older_schema_is_migrated(monkeypatch):
    current = record_to_json(_record())
    old = dict(current, schema=0)
    old["score_of_detection"] = old.pop("detection")      # pretend v0 named it differently

    def v0_to_v1(data):
        data = dict(data, schema=1)
        data["detection"] = data.pop("score_of_detection")
        return data

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 1)
    monkeypatch.setitem(schema.MIGRATIONS, 0, v0_to_v1)
    assert record_from_json(old, "x").detection_score == pytest.approx(0.87)


def test_schema_1_records_keep_their_identity_vector_as_the_embedding():
    record = _record()
    old = record_to_json(record)
    old["identity"] = old.pop("embedding")          # how faceswap before schema 2 wrote it
    old["schema"] = 1
    del old["track"], old["labels"]
    back = record_from_json(old, "old face")
    assert back.schema == schema.SCHEMA_VERSION == 4
    assert np.array_equal(back.embedding, record.embedding)


def test_the_track_round_trips_and_schema_2_records_have_none():
    record = _record()
    tracked = record_from_json(record_to_json(dataclasses.replace(record, track=17)), "face")
    assert tracked.track == 17 and tracked.schema == 4
    old = record_to_json(record)
    del old["track"], old["labels"]
    old["schema"] = 2
    back = record_from_json(old, "schema 2 face")
    assert back.track is None and back.frame_index == 42 and back.labels == () and back.schema == 4


@pytest.mark.parametrize("field", ["track", "labels"])
def test_a_current_record_without_a_field_of_its_schema_is_invalid(field):
    data = record_to_json(_record())
    del data[field]
    with pytest.raises(FaceSetError, match=f"invalid face record .*{field}"):
        record_from_json(data, "faces/000042_01.png")


def test_schema_3_records_gain_an_empty_label_list_and_keep_their_track():
    old = record_to_json(dataclasses.replace(_record(), track=5))
    del old["labels"]                               # how faceswap before schema 4 wrote it
    old["schema"] = 3
    back = record_from_json(old, "old face")
    assert back.schema == 4 and back.labels == () and back.track == 5
    assert record_to_json(back)["labels"] == []


def test_mask_labels_round_trip_in_order():
    triangle = np.array([[10, 10], [50, 12], [30, 40.5]], np.float32)
    square = np.array([[20, 20], [30, 20], [30, 30], [20, 30]], np.float32)
    record = dataclasses.replace(_record(), labels=(MaskLabel("include", triangle), MaskLabel("exclude", square)))
    back = record_from_json(record_to_json(record), "x")
    assert [label.kind for label in back.labels] == ["include", "exclude"]
    assert np.array_equal(back.labels[0].points, triangle) and np.array_equal(back.labels[1].points, square)


@pytest.mark.parametrize("label, why", [({"kind": "hide", "points": [[0, 0], [1, 0], [0, 1]]}, "not include or exclude"),
                                        ({"kind": "exclude", "points": [[0, 0], [1, 0]]}, "at least 3 points")])
def test_a_bad_label_names_the_file(label, why):
    data = record_to_json(_record())
    data["labels"] = [label]
    with pytest.raises(FaceSetError, match=f"faces/000042_01.png: invalid face record.*{why}"):
        record_from_json(data, "faces/000042_01.png")
