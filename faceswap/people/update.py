"""Write a face set's people (``people.json``): find them, name one. Both hold the set's lock."""
from __future__ import annotations

from faceswap.errors import InputError
from faceswap.faceset.store import FaceSet
from faceswap.faceset.table import load_table_locked
from faceswap.locking import exclusive_lock
from faceswap.people.clustering import SAME_PERSON
from faceswap.people.identify import People, identify
from faceswap.people.roster import Person, read_roster, require_roster, write_roster
from faceswap.runtime.progress import Progress


def find_people(faceset: FaceSet, threshold: float = SAME_PERSON, fresh: bool = False,
                progress: Progress | None = None) -> People:
    """Cluster the set's tracks into people (keeping earlier ids and names unless ``fresh``) and save them."""
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        table = load_table_locked(faceset, progress)
        if not len(table):
            raise InputError(f"face set {faceset.folder} holds no faces")
        people = identify(table, read_roster(faceset), threshold, fresh)
        write_roster(faceset, people.roster)
    return people


def name_person(faceset: FaceSet, who: str, name: str) -> Person:
    """Call ``who`` (person-N or a name) ``name``; returns the renamed person."""
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        renamed = require_roster(faceset).renamed(who, name, faceset.folder)
        write_roster(faceset, renamed)
    return renamed.require(name, faceset.folder)
