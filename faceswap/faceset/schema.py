"""FaceRecord <-> JSON, with a schema version, migrations and strict validation.

A record is embedded in its face PNG (media/pngmeta.py), so a face file describes
itself: deleting the file removes the face from training and merge.
"""
from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faceswap import __version__
from faceswap.errors import FaceSetError
from faceswap.media.image import decode_image, encode_image

SCHEMA_VERSION = 4
LABEL_KINDS = ("include", "exclude")


def _identity_to_embedding(data: dict[str, Any]) -> dict[str, Any]:
    """1 -> 2: the identity vector is called an embedding ("identity" is the person)."""
    data = dict(data)
    data["embedding"] = data.pop("identity", None)
    data["schema"] = 2
    return data


def _add_track(data: dict[str, Any]) -> dict[str, Any]:
    """2 -> 3: faces carry the id of the track they belong to; older faces have none (null).

    A record alone cannot say which faces it was tracked with, so this stays null and
    faceswap/people/tracks.py derives tracks for such faces from their neighbours when needed.
    """
    data = dict(data)
    data["track"] = None
    data["schema"] = 3
    return data


def _add_mask_labels(data: dict[str, Any]) -> dict[str, Any]:
    """3 -> 4: a face carries the mask polygons a user drew on it (none yet)."""
    data = dict(data)
    data["labels"] = []
    data["schema"] = 4
    return data


# Each migration turns a record of version N into N + 1. Add one per schema bump.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _identity_to_embedding, 2: _add_track, 3: _add_mask_labels}


@dataclass(frozen=True)
class Producer:
    """A plugin that made part of a record, with its version and resolved options."""

    kind: str
    name: str
    version: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MaskLabel:
    """One polygon a user drew on a face (XSeg style): ``include`` adds it to the face, ``exclude``
    removes it (a hand, a microphone). Polygons apply in order, later ones over earlier ones."""

    kind: str                       # "include" or "exclude"
    points: np.ndarray              # (K, 2) float32, K >= 3, in the stored face's pixels


@dataclass(frozen=True)
class FaceRecord:
    """Everything known about one extracted face. Arrays are float32 unless noted."""

    source: str                     # video file name or image folder name
    frame_index: int
    pts: float
    frame_size: tuple[int, int]     # (width, height)
    face_index: int                 # 0 = largest face kept in that frame
    box: np.ndarray                 # (4,) x0, y0, x1, y1 in frame pixels
    detection_score: float
    keypoints: np.ndarray | None    # (K, 2) detector keypoints, eyes first
    landmarks: np.ndarray           # (68, 2) frame pixels
    landmark_score: float | None
    matrix: np.ndarray              # (2, 3) float64 frame -> face
    size: int
    coverage: float
    masks: dict[str, np.ndarray]    # name -> (S, S) uint8
    embedding: np.ndarray | None    # (D,) unit vector of the person's identity (identity plugin)
    producers: tuple[Producer, ...]
    frame_name: str = ""
    track: int | None = None        # id of the face's track within its face set (None: extracted before tracks)
    labels: tuple[MaskLabel, ...] = ()     # mask polygons drawn by the user, in order
    faceswap_version: str = __version__
    schema: int = SCHEMA_VERSION

    def mask(self, name: str | None = None) -> np.ndarray:
        """A stored mask as float32 [0, 1]; the first one when ``name`` is None."""
        if not self.masks:
            raise FaceSetError(f"face of frame {self.frame_index} has no mask")
        key = name if name is not None else next(iter(self.masks))
        return self.masks[key].astype(np.float32) / 255.0


def record_to_json(record: FaceRecord) -> dict[str, Any]:
    """A JSON-able dict (masks as base64 PNG, the embedding as base64 float32)."""
    return {
        "schema": record.schema,
        "faceswap_version": record.faceswap_version,
        "source": {"name": record.source, "frame": record.frame_index, "pts": record.pts,
                   "width": record.frame_size[0], "height": record.frame_size[1],
                   "frame_name": record.frame_name},
        "face_index": record.face_index,
        "track": record.track,
        "detection": {"box": _floats(record.box), "score": record.detection_score,
                      "keypoints": None if record.keypoints is None else _floats(record.keypoints)},
        "landmarks": {"points": _floats(record.landmarks), "score": record.landmark_score},
        "matrix": record.matrix.tolist(),
        "size": record.size,
        "coverage": record.coverage,
        "masks": {k: base64.b64encode(encode_image(v, ".png")).decode("ascii") for k, v in record.masks.items()},
        "embedding": None if record.embedding is None
        else base64.b64encode(record.embedding.astype("<f4").tobytes()).decode("ascii"),
        "producers": [vars(p) for p in record.producers],
        "labels": [{"kind": label.kind, "points": _floats(label.points)} for label in record.labels],
    }


def record_from_json(data: Any, where: str, *, masks: bool = True) -> FaceRecord:
    """Validate, migrate and build a FaceRecord; FaceSetError naming ``where`` otherwise.

    ``masks=False`` leaves the masks out (empty), for readers that only need the numbers.
    """
    try:
        data = migrate(data)
        src, det, lmk = data["source"], data["detection"], data["landmarks"]
        record = FaceRecord(
            source=str(src["name"]), frame_index=int(src["frame"]), pts=float(src["pts"]),
            frame_size=(int(src["width"]), int(src["height"])), frame_name=str(src.get("frame_name", "")),
            face_index=int(data["face_index"]), track=None if data["track"] is None else int(data["track"]),
            box=_array(det["box"], (4,)), detection_score=float(det["score"]),
            keypoints=None if det["keypoints"] is None else _array(det["keypoints"], (-1, 2)),
            landmarks=_array(lmk["points"], (68, 2)),
            landmark_score=None if lmk["score"] is None else float(lmk["score"]),
            matrix=_array(data["matrix"], (2, 3), np.float64),
            size=int(data["size"]), coverage=float(data["coverage"]),
            masks={k: _mask(v, int(data["size"])) for k, v in data["masks"].items()} if masks else {},
            embedding=None if data["embedding"] is None
            else np.frombuffer(base64.b64decode(data["embedding"]), "<f4").astype(np.float32),
            producers=tuple(Producer(**p) for p in data["producers"]),
            labels=tuple(_label(item) for item in data["labels"]),
            faceswap_version=str(data["faceswap_version"]), schema=int(data["schema"]),
        )
    except FaceSetError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise FaceSetError(f"{where}: invalid face record ({type(exc).__name__}: {exc})") from exc
    return record


def migrate(data: Any) -> dict[str, Any]:
    """Bring a record dict up to SCHEMA_VERSION."""
    if not isinstance(data, dict) or "schema" not in data:
        raise ValueError("no schema version")
    version = int(data["schema"])
    if version > SCHEMA_VERSION:
        raise FaceSetError(
            f"face record schema {version} is newer than this faceswap understands "
            f"({SCHEMA_VERSION}): upgrade faceswap"
        )
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise ValueError(f"no migration from schema {version}")
        data = MIGRATIONS[version](data)
        version = int(data["schema"])
    return data


def _floats(array: np.ndarray) -> list:
    return np.round(np.asarray(array, np.float64), 3).tolist()


def _array(values: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if len(shape) != array.ndim or any(s not in (-1, a) for s, a in zip(shape, array.shape)):
        raise ValueError(f"expected shape {shape}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("non-finite values")
    return array


def _label(item: Any) -> MaskLabel:
    kind = str(item["kind"])
    if kind not in LABEL_KINDS:
        raise ValueError(f"label kind '{kind}' is not include or exclude")
    points = _array(item["points"], (-1, 2))
    if len(points) < 3:
        raise ValueError("a label polygon needs at least 3 points")
    return MaskLabel(kind, points)


def _mask(text: str, size: int) -> np.ndarray:
    mask = decode_image(base64.b64decode(text))
    if mask.shape != (size, size):
        raise ValueError(f"mask shape {mask.shape} does not match size {size}")
    return mask
