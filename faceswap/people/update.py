"""Write a face set's people (``people.json``): find them, name one. Both hold the set's lock."""
from __future__ import annotations

from faceswap.errors import InputError
from faceswap.faceset.store import FaceSet
from faceswap.faceset.table import load_table, write_table_cache
from faceswap.locking import exclusive_lock
from faceswap.people.clustering import SAME_PERSON
from faceswap.people.identify import People, identify
from faceswap.people.roster import Person, read_roster, write_roster
from faceswap.runtime.progress import Progress


def find_people(faceset: FaceSet, threshold: float = SAME_PERSON, fresh: bool = False,
                progress: Progress | None = None) -> People:
    """Cluster the set's tracks into people (keeping earlier ids and names unless ``fresh``) and save them."""
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        table = load_table(faceset, progress, save_cache=False)
        if table.measured:
            write_table_cache(faceset, table)
        if not len(table):
            raise InputError(f"face set {faceset.folder} holds no faces")
        people = identify(table, read_roster(faceset), threshold, fresh)
        write_roster(faceset, people.roster)
    return people


def name_person(faceset: FaceSet, who: str, name: str) -> Person:
    """Call ``who`` (person-N or a name) ``name``; returns the renamed person."""
    with exclusive_lock(faceset.folder, f"face set {faceset.folder}"):
        roster = read_roster(faceset)
        if roster is None:
            raise InputError(f"face set {faceset.folder} has no people yet: run 'faceswap people "
                             f"{faceset.folder.name}' first")
        renamed = roster.renamed(who, name, faceset.folder)
        write_roster(faceset, renamed)
    return renamed.require(name, faceset.folder)
