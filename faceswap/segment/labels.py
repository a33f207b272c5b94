"""Import user mask labels (XSeg-style polygons) into face records.

Two file formats, coordinates in the pixels of the stored face crop (``faces/*.png``, 256 px by
default; a JSON file may say ``"size": N`` when the polygons were drawn on a crop shown at N px):

JSON::

    {"size": 256,
     "faces": {"000120_00.png": [{"kind": "include", "points": [[70, 60], [186, 60], [190, 220], [66, 220]]},
                                 {"kind": "exclude", "points": [[100, 150], [160, 150], [130, 250]]}]}}

CSV (one row per point, a header row first; points in drawing order, polygons in the order they
first appear)::

    face,polygon,kind,x,y
    000120_00.png,0,include,70,60
    ...

As in XSeg, only what an include polygon covers is face and exclude polygons cut holes in it;
polygons apply in order.
"""
from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from faceswap.errors import InputError
from faceswap.faceset.schema import LABEL_KINDS, FaceRecord, MaskLabel
from faceswap.faceset.store import FaceSet
from faceswap.locking import exclusive_lock
from faceswap.segment.rewrite import rewrite_records

LabelFile = dict[str, list[MaskLabel]]      # face file name -> polygons, in order


def read_label_file(path: Path) -> tuple[LabelFile, int | None]:
    """(labels by face file name, the crop size they were drawn at or None); InputError naming the
    file and the entry at fault otherwise."""
    if not path.is_file():
        raise InputError(f"label file not found: {path}")
    if path.suffix.lower() == ".csv":
        return _read_csv(path), None
    if path.suffix.lower() != ".json":
        raise InputError(f"{path}: label files are .json or .csv")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path}: not a label file ({type(exc).__name__}: {exc})") from exc
    return labels_from_json(data, str(path))


def labels_from_json(data: Any, where: str) -> tuple[LabelFile, int | None]:
    """The JSON label format already parsed (a file's, or the web app's): (labels by face file name,
    crop size or None); InputError naming ``where`` and the entry at fault otherwise."""
    try:
        faces = data["faces"]
        size = None if data.get("size") is None else int(data["size"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{where}: not a label file ({type(exc).__name__}: {exc}); expected "
                         f'{{"faces": {{"NAME.png": [{{"kind": "include", "points": [[x, y], ...]}}]}}}}') from exc
    if not isinstance(faces, Mapping):
        raise InputError(f"{where}: 'faces' must map face file names to lists of polygons")
    return {str(name): [_polygon(item, where, name, k) for k, item in enumerate(_as_list(polys, where, name))]
            for name, polys in faces.items()}, size


def import_labels(faceset: FaceSet, labels: LabelFile, size: int | None, append: bool = False) -> int:
    """Store ``labels`` in the records of the named faces (replacing theirs unless ``append``);
    returns how many faces changed. InputError when a name is not a face of the set."""
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        by_name = {p.name: p for p in faceset.face_paths()}
        missing = [name for name in labels if name not in by_name]
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            raise InputError(f"face set {faceset.folder} has no face {shown}: name faces by their file in faces/")

        def change(path: Path, record: FaceRecord) -> FaceRecord:
            scale = record.size / size if size else 1.0
            new = tuple(MaskLabel(label.kind, label.points * np.float32(scale)) for label in labels[path.name])
            return dataclasses.replace(record, labels=(*record.labels, *new) if append else new)

        return rewrite_records([by_name[name] for name in labels], change)


def _read_csv(path: Path) -> LabelFile:
    polygons: dict[tuple[str, str], tuple[str, list[tuple[float, float]]]] = {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                key = (row["face"].strip(), row["polygon"].strip())
                kind = row["kind"].strip()
                if key in polygons and polygons[key][0] != kind:
                    raise InputError(f"{path} line {line}: polygon {key[1]} of {key[0]} changes kind")
                polygons.setdefault(key, (kind, []))[1].append((float(row["x"]), float(row["y"])))
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: a label CSV needs the columns face,polygon,kind,x,y (missing {exc})") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not a number ({exc})") from exc
    result: LabelFile = {}
    for (face, number), (kind, points) in polygons.items():
        result.setdefault(face, []).append(_polygon({"kind": kind, "points": points}, path, face, number))
    return result


def _as_list(value: Any, where: str, name: str) -> list:
    if not isinstance(value, list):
        raise InputError(f"{where}: the labels of {name} must be a list of polygons")
    return value


def _polygon(item: Any, source: Path | str, face: str, number: Any) -> MaskLabel:
    where = f"{source}: polygon {number} of {face}"
    try:
        kind = str(item["kind"])
        points = np.asarray(item["points"], np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where} needs 'kind' and 'points' [[x, y], ...] ({type(exc).__name__})") from exc
    if kind not in LABEL_KINDS:
        raise InputError(f"{where}: kind '{kind}' is not include or exclude")
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 3 or not np.isfinite(points).all():
        raise InputError(f"{where}: needs at least 3 finite [x, y] points")
    return MaskLabel(kind, points)
