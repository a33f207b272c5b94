"""Merge sessions: the merge tuner's settings, with per-frame-range overrides (DFL's interactive merger).

A session file is JSON::

    {"format": "faceswap-merge-session", "schema": 1, "video": "dst.mp4", "model": "sae",
     "settings": {"color": "rct", "blender": "alpha", "mask": "intersect", "erode": 0.0, "blur": 0.04,
                  "sharpen": 1.0},
     "ranges": [{"start": 120, "end": 180, "settings": {"erode": 0.06, "color": "lct"}}]}

``start`` and ``end`` are frame indices, both included; a later range wins where ranges overlap.
Only the settings applied when a swapped face is pasted back can change per range (colour
transfer, blender, mask mode, erode, blur, sharpen; the mask takes what ``merge --mask`` takes, stored
mask names such as ``segment`` or ``segment+predicted`` included): the model and the landmark smoothing run over
the whole video in order, so they are the same for every frame.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from faceswap.atomic import write_json_atomic
from faceswap.errors import InputError, OptionError
from faceswap.faceset.schema import FaceRecord
from faceswap.merge.masks import parse_mask_mode
from faceswap.merge.sharpen import DEFAULT_AMOUNT as DEFAULT_SHARPEN
from faceswap.types import Frame

if TYPE_CHECKING:
    from faceswap.merge.pipeline import MergeSettings

FORMAT = "faceswap-merge-session"
SCHEMA = 1
ERODE_LIMIT = 0.5       # a fraction of the face crop: beyond it the mask is gone or covers the whole crop
BLUR_LIMIT = 0.5
SHARPEN_LIMIT = 4.0     # merge --sharpen's range
NUMBERS = ("erode", "blur", "sharpen")


@dataclass(frozen=True)
class PasteStyle:
    """How swapped faces are pasted back into a frame."""

    color: str = "rct"
    blender: str = "alpha"
    mask: str = "intersect"
    erode: float = 0.0
    blur: float = 0.04
    sharpen: float = DEFAULT_SHARPEN

    def checked(self, where: str) -> PasteStyle:
        """This style, or InputError naming ``where`` and the value out of range."""
        if not isinstance(self.mask, str):
            raise InputError(f"{where}: mask must be a text such as intersect or segment+predicted")
        try:
            parse_mask_mode(self.mask)      # the modes merge --mask takes, stored mask names included
        except OptionError as exc:
            raise InputError(f"{where}: {str(exc).replace('--mask ', 'mask ')}") from None
        for name, value, low, high in (("erode", self.erode, -ERODE_LIMIT, ERODE_LIMIT),
                                       ("blur", self.blur, 0.0, BLUR_LIMIT),
                                       ("sharpen", self.sharpen, 0.0, SHARPEN_LIMIT)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
                raise InputError(f"{where}: {name} {value!r} is out of range ({low} to {high})")
        for name in ("color", "blender"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise InputError(f"{where}: {name} must be a plugin name")
        return self

    def with_changes(self, changes: dict[str, Any], where: str) -> PasteStyle:
        return replace(self, **typed_changes(changes, where)).checked(where)

    def merge_settings(self, base: MergeSettings) -> MergeSettings:
        """``base`` with this style's paste settings (the colour and blender are plugins, chosen apart)."""
        return replace(base, mask=self.mask, erode=self.erode, blur=self.blur, sharpen=self.sharpen)


def typed_changes(changes: dict[str, Any], where: str) -> dict[str, Any]:
    """Style changes with known names only and numbers as floats; InputError naming ``where`` otherwise."""
    known = {f.name for f in fields(PasteStyle)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InputError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    try:
        return {k: float(v) if k in NUMBERS else v for k, v in changes.items()}
    except (TypeError, ValueError):
        raise InputError(f"{where}: {', '.join(NUMBERS)} must be numbers") from None


@dataclass(frozen=True)
class FrameRange:
    start: int
    end: int                        # included
    changes: dict[str, Any]

    def covers(self, index: int) -> bool:
        return self.start <= index <= self.end


@dataclass(frozen=True)
class MergeSession:
    settings: PasteStyle
    ranges: tuple[FrameRange, ...] = ()
    video: str = ""
    model: str = ""

    def style_at(self, index: int) -> PasteStyle:
        """The style of frame ``index``: the base settings with every range covering it applied in order."""
        style = self.settings
        for frame_range in self.ranges:
            if frame_range.covers(index):
                style = replace(style, **frame_range.changes)
        return style

    def styles(self) -> set[PasteStyle]:
        """Every style some frame can get (ranges overlapping in any combination included)."""
        edges = sorted({0, *(r.start for r in self.ranges), *(r.end + 1 for r in self.ranges)})
        return {self.style_at(i) for i in edges}

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "schema": SCHEMA, "video": self.video, "model": self.model,
                "settings": asdict(self.settings),
                "ranges": [{"start": r.start, "end": r.end, "settings": dict(r.changes)} for r in self.ranges]}


def session_from_json(data: Any, where: str) -> MergeSession:
    """Validate a session's JSON; every problem is one InputError naming ``where``."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{where} is not a merge session file (no \"format\": \"{FORMAT}\")")
    if int(data.get("schema", 0)) > SCHEMA:
        raise InputError(f"{where} is from a newer faceswap (session schema {data.get('schema')}): upgrade faceswap")
    base = PasteStyle().with_changes(dict(data.get("settings") or {}), where)
    ranges = []
    for k, item in enumerate(data.get("ranges") or []):
        spot = f"{where}, range {k + 1}"
        try:
            start, end = int(item["start"]), int(item["end"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{spot}: needs whole-number 'start' and 'end' frames") from None
        if start < 0 or end < start:
            raise InputError(f"{spot}: frames {start}..{end} are not a range (0 <= start <= end)")
        changes = typed_changes(dict(item.get("settings") or {}), spot)
        base.with_changes(changes, spot)            # checks the ranges
        ranges.append(FrameRange(start, end, changes))
    return MergeSession(base, tuple(ranges), str(data.get("video", "")), str(data.get("model", "")))


def read_session(path: Path) -> MergeSession:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"merge session file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable merge session file ({exc})") from exc
    return session_from_json(data, str(path))


def write_session(path: Path, session: MergeSession) -> None:
    write_json_atomic(path, session.to_json())


class SessionMerger:
    """A Merger whose paste step follows a session: one paster per style, chosen by frame index.

    ``base`` runs the model and the smoothing for every frame (in order); ``pasters`` maps each
    style to a Merger built with that style's plugins and settings (only its ``finish`` is used).
    """

    def __init__(self, base: Any, session: MergeSession, pasters: dict[PasteStyle, Any]) -> None:
        self.base, self.session, self.pasters = base, session, pasters
        self.settings = base.settings

    def infer(self, frames: Sequence[Frame], faces: dict[int, list[FaceRecord]]) -> list[Any]:
        return self.base.infer(frames, faces)

    def finish(self, job: Any) -> tuple[Frame, np.ndarray, int]:
        return self.pasters[self.session.style_at(job.frame.index)].finish(job)

    def merge_chunk(self, frames: Sequence[Frame], faces: dict[int, list[FaceRecord]]) -> list[tuple[Frame, np.ndarray, int]]:
        return [self.finish(job) for job in self.infer(frames, faces)]


def build_session_merger(session: MergeSession, make: Callable[[PasteStyle], Any]) -> SessionMerger:
    """``make(style)`` builds a Merger for one style; the base style's Merger also runs the model."""
    pasters = {style: make(style) for style in session.styles() | {session.settings}}
    return SessionMerger(pasters[session.settings], session, pasters)
