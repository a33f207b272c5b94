"""The people of a face set: ``<set>/people.json``, which tracks are whom and what they are called.

Names belong to the set, not to each face file, so naming someone rewrites one small
file. The file is written atomically by commands holding the set's lock.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from faceswap.atomic import write_json_atomic
from faceswap.errors import FaceSetError, InputError
from faceswap.faceset.store import FaceSet

PEOPLE_FILE = "people.json"
ROSTER_SCHEMA = 1
PERSON_ID = re.compile(r"^person-(\d+)$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Person:
    """One person: a stable id (person-N), an optional name, and the keys of their tracks."""

    id: str
    name: str | None
    tracks: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name})" if self.name else self.id

    def answers_to(self, who: str) -> bool:
        return who in (self.id, self.name)


@dataclass(frozen=True)
class Roster:
    """Everyone in a face set, person-1 first."""

    persons: tuple[Person, ...]
    threshold: float

    def person_of_track(self) -> dict[int, str]:
        return {track: person.id for person in self.persons for track in person.tracks}

    def find(self, who: str) -> Person | None:
        """The person with this name or id."""
        return next((p for p in self.persons if p.answers_to(who)), None)

    def require(self, who: str, folder: Path) -> Person:
        person = self.find(who)
        if person is None:
            known = ", ".join(p.label for p in self.persons) or "nobody"
            raise InputError(f"face set {folder} has no person '{who}' (it has {known}); "
                             f"'faceswap people {folder.name}' lists them")
        return person

    def next_id(self) -> str:
        numbers = [int(m.group(1)) for p in self.persons if (m := PERSON_ID.match(p.id))]
        return f"person-{max(numbers, default=0) + 1}"

    def renamed(self, who: str, name: str, folder: Path) -> Roster:
        """This roster with ``who`` (a name or id) called ``name``."""
        check_name(name)
        person = self.require(who, folder)
        holder = self.find(name)
        if holder is not None and holder.id != person.id:
            raise InputError(f"'{name}' is already {holder.label} in face set {folder}: pick another name")
        persons = tuple(replace(p, name=name) if p.id == person.id else p for p in self.persons)
        return replace(self, persons=persons)


def check_name(name: str) -> None:
    """Names are used in ``SET:NAME`` and ``--map NAME=MODEL``: letters, digits, '_', '.', '-'."""
    if not NAME.match(name) or PERSON_ID.match(name):
        raise InputError(f"'{name}' cannot name a person: use letters, digits, '_', '.' or '-' (up to 64, "
                         f"starting with a letter or digit), and not the form person-N")


def read_roster(faceset: FaceSet) -> Roster | None:
    """The set's roster, or None when 'faceswap people' has not been run on it."""
    path = faceset.folder / PEOPLE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise FaceSetError(f"{path} is unreadable ({exc}); delete it and run 'faceswap people' again") from exc
    try:
        if int(data["schema"]) > ROSTER_SCHEMA:
            raise FaceSetError(f"{path} is from a newer faceswap: upgrade faceswap")
        persons = tuple(Person(str(p["id"]), None if p.get("name") is None else str(p["name"]),
                               tuple(int(t) for t in p["tracks"])) for p in data["persons"])
        return Roster(persons, float(data["threshold"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise FaceSetError(f"{path} is invalid ({type(exc).__name__}: {exc}); delete it and run "
                           f"'faceswap people' again") from exc


def require_roster(faceset: FaceSet) -> Roster:
    """The set's roster; InputError saying to run 'faceswap people' when there is none."""
    roster = read_roster(faceset)
    if roster is None:
        raise InputError(f"face set {faceset.folder} has no people yet: run 'faceswap people "
                         f"{faceset.folder.name}' first, then name them with 'faceswap people name'")
    return roster


def write_roster(faceset: FaceSet, roster: Roster) -> None:
    """Write people.json (the caller holds the set's lock)."""
    write_json_atomic(faceset.folder / PEOPLE_FILE, {
        "schema": ROSTER_SCHEMA, "threshold": roster.threshold,
        "persons": [{"id": p.id, "name": p.name, "tracks": list(p.tracks)} for p in roster.persons]})
