"""What ``faceswap people`` shows: each person's faces, tracks, when they are on screen, a thumbnail sheet."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceswap.faceset.store import read_face
from faceswap.media.sheet import caption, stack, tile, write_sheet
from faceswap.people.identify import People
from faceswap.people.roster import Person

GAP_SECONDS = 1.0       # a person absent for longer than this starts a new time range


@dataclass(frozen=True)
class PersonLine:
    """One person in brief. ``spans``: (first, last) seconds on screen, or image numbers for photos."""

    person: Person
    faces: int
    tracks: int
    spans: tuple[tuple[float, float], ...]
    in_seconds: bool

    def spans_text(self, limit: int = 6) -> str:
        shown = [_span(a, b, self.in_seconds) for a, b in self.spans[:limit]]
        more = len(self.spans) - limit
        return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def describe(people: People, fps: float) -> list[PersonLine]:
    """A line per person, person-1 first. ``fps`` 0 means the set came from photos (spans are image numbers)."""
    lines = []
    for person in people.roster.persons:
        rows = people.rows_of(person)
        if fps > 0:
            spans = _spans(people.table["pts"][rows], GAP_SECONDS, 1.0 / fps)
        else:
            spans = _spans(people.table["frame"][rows].astype(np.float64), 1.0, 0.0)
        lines.append(PersonLine(person, len(rows), len(person.tracks), spans, fps > 0))
    return lines


def write_people_sheet(people: People, lines: list[PersonLine], path: Path, per_person: int = 8,
                       size: int = 96) -> Path:
    """A PNG with one row per person: a caption, then faces spread over their time on screen."""
    parts = []
    for line in lines:
        rows = people.rows_of(line.person)
        picks = rows[np.unique(np.linspace(0, len(rows) - 1, min(per_person, len(rows))).astype(int))]
        tiles = [tile(read_face(p)[0], size, f"#{int(people.table['frame'][r])}")
                 for r, p in zip(picks, people.table.paths(picks))]
        text = f"{line.person.label}: {line.faces} faces, {line.tracks} tracks, {line.spans_text(3)}"
        row = np.concatenate(tiles, axis=1)
        parts += [caption(text, max(row.shape[1], 8 * size)), row]
    return write_sheet(path, stack(parts))


def _spans(times: np.ndarray, gap: float, frame_length: float) -> tuple[tuple[float, float], ...]:
    if not len(times):
        return ()
    times = np.sort(times)
    breaks = np.flatnonzero(np.diff(times) > gap)
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, len(times) - 1]
    return tuple((float(times[a]), float(times[b] + frame_length)) for a, b in zip(starts, ends))


def _span(a: float, b: float, in_seconds: bool) -> str:
    if not in_seconds:
        return f"images {int(a)}-{int(b)}" if b > a else f"image {int(a)}"
    return f"{_clock(a)}-{_clock(b)}"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:04.1f}"
