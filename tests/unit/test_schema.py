"""Face records: round trip, validation, schema versions."""
import dataclasses

import numpy as np
import pytest

from faceswap.errors import FaceSetError
from faceswap.faceset import schema
from faceswap.faceset.schema import FaceRecord, Producer, record_from_json, record_to_json


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
    del old["track"]
    back = record_from_json(old, "old face")
    assert back.schema == schema.SCHEMA_VERSION == 3
    assert np.array_equal(back.embedding, record.embedding)


def test_the_track_round_trips_and_schema_2_records_have_none():
    record = _record()
    tracked = record_from_json(record_to_json(dataclasses.replace(record, track=17)), "face")
    assert tracked.track == 17 and tracked.schema == 3
    old = record_to_json(record)
    del old["track"]
    old["schema"] = 2
    back = record_from_json(old, "schema 2 face")
    assert back.track is None and back.frame_index == 42 and back.schema == 3


def test_a_schema_3_record_without_its_track_is_invalid():
    data = record_to_json(_record())
    del data["track"]
    with pytest.raises(FaceSetError, match="invalid face record .*track"):
        record_from_json(data, "faces/000042_01.png")
