"""One person's faces: ``SET:PERSON`` for training, a person's identity for extract, faces per model for merge.

A face set's people are its ``people.json`` (written by ``faceswap people``) plus, in memory
only, tracks added since (given to the person they resemble), so readers never write.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from faceswap.errors import FaceSetError, InputError
from faceswap.faceset.store import FaceSet
from faceswap.faceset.table import FaceTable, load_table
from faceswap.people.clustering import SAME_PERSON
from faceswap.people.identify import People, identify
from faceswap.people.roster import Person, read_roster, require_roster
from faceswap.people.tracks import track_keys, tracks_of
from faceswap.runtime.progress import Progress
from faceswap.workspace import Workspace


def people_of(faceset: FaceSet, progress: Progress | None = None) -> People:
    """The people of a face set 'faceswap people' has been run on; InputError saying so otherwise."""
    roster = require_roster(faceset)
    return identify(load_table(faceset, progress), roster, roster.threshold)


def split_spec(workspace: Workspace, spec: str) -> tuple[str, str | None]:
    """``SET:PERSON`` -> (set, person); a plain set name (even one holding a colon) -> (set, None)."""
    if ":" not in spec or FaceSet(workspace.faceset_dir(spec)).exists():
        return spec, None
    name, person = spec.rsplit(":", 1)
    if not name or not person:
        raise InputError(f"'{spec}' is neither a face set nor SET:PERSON")
    return name, person


def faceset_of(workspace: Workspace, spec: str) -> tuple[FaceSet, str | None]:
    """The face set of ``SET`` or ``SET:PERSON`` (FaceSetError when missing), and the person if any."""
    name, who = split_spec(workspace, spec)
    faceset = FaceSet(workspace.faceset_dir(name))
    if not faceset.exists():
        raise FaceSetError(f"no face set '{name}' in {workspace.facesets}: run 'faceswap extract {name}.mp4' "
                           f"first, or name another")
    return faceset, who


def faces_of(workspace: Workspace, spec: str) -> list[Path]:
    """Face files of a face set, or of one person in it (``SET:PERSON``), in frame order."""
    faceset, who = faceset_of(workspace, spec)
    if who is None:
        return faceset.face_paths()
    people = people_of(faceset)
    return people.table.paths(people.rows_of(people.roster.require(who, faceset.folder)))


def table_of(workspace: Workspace, spec: str, progress: Progress | None = None) -> FaceTable:
    """The face table of a face set, or only one person's rows of it (``SET:PERSON``)."""
    faceset, who = faceset_of(workspace, spec)
    if who is None:
        return load_table(faceset, progress)
    people = people_of(faceset, progress)
    return people.table.subset(people.rows_of(people.roster.require(who, faceset.folder)))


def person_identity(workspace: Workspace, spec: str) -> np.ndarray:
    """Unit mean identity of a named person: ``SET:NAME``, or ``NAME`` as named in any face set."""
    name, who = split_spec(workspace, spec)
    if who is not None:
        folders = [workspace.faceset_dir(name)]
    else:
        who = spec
        folders = sorted(p.parent for p in workspace.facesets.glob("*/people.json"))
    means = []
    for folder in folders:
        faceset = FaceSet(folder)
        roster = read_roster(faceset) if faceset.exists() else None
        person = roster.find(who) if roster is not None else None
        if person is None or person.name is None and len(folders) > 1:
            continue            # person-N ids mean nothing outside their own set
        mean = people_of(faceset).identity_of(person)
        if mean is not None:
            means.append(mean)
    if not means:
        raise InputError(f"nobody is named '{who}' in {workspace.facesets}: name someone with "
                         f"'faceswap people name SET person-N {who}', or use SET:{who}")
    total = np.sum(means, axis=0)
    return total / np.linalg.norm(total)


FaceKey = tuple[int, int]       # (frame index, face index): how merge knows a face


def faces_like(faceset: FaceSet, identity: np.ndarray, threshold: float) -> set[FaceKey]:
    """The faces of every track whose mean identity reaches ``threshold`` against ``identity`` (--ref)."""
    table = load_table(faceset)
    keys = track_keys(table)
    chosen: set[FaceKey] = set()
    for track in tracks_of(table, keys):
        mean = track.identity()
        if mean is not None and float(mean @ identity) >= threshold:
            chosen |= _face_keys(table, track.rows)
    return chosen


def map_people(workspace: Workspace, faceset: FaceSet, mapping: dict[str, str],
               threshold: float = SAME_PERSON) -> dict[FaceKey, str]:
    """Which model swaps which face: ``mapping`` is {person: model}; faces of other people are left out.

    A person is a name or id in the set's ``people.json``, or a name given in another face set
    of the workspace, matched to the most alike person here (at least ``threshold``).
    """
    table = load_table(faceset)
    roster = read_roster(faceset)
    people = identify(table, roster, roster.threshold if roster else threshold)
    routes: dict[FaceKey, str] = {}
    taken: dict[str, str] = {}
    for who, model in mapping.items():
        person = people.roster.find(who) or _alike(workspace, people, who, threshold, faceset)
        if person.id in taken:
            raise InputError(f"--map {taken[person.id]} and --map {who} are the same person ({person.label}) "
                             f"of face set {faceset.folder.name}")
        taken[person.id] = who
        routes.update(dict.fromkeys(_face_keys(table, people.rows_of(person)), model))
    return routes


def _alike(workspace: Workspace, people: People, who: str, threshold: float, faceset: FaceSet) -> Person:
    """The person of ``people`` most like ``who`` as named in another face set."""
    try:
        wanted = person_identity(workspace, who)
    except InputError:
        known = ", ".join(p.label for p in people.roster.persons)
        raise InputError(f"--map {who}: face set {faceset.folder.name} has no person '{who}' ({known}) and no "
                         f"face set names anyone so; 'faceswap people {faceset.folder.name}' lists them") from None
    best_score, best = people.closest(wanted)
    if best is None or best_score < threshold:
        raise InputError(f"--map {who}: nobody in face set {faceset.folder.name} looks like the '{who}' named "
                         f"elsewhere (best similarity {best_score:.2f} < {threshold})")
    return best


def _face_keys(table: FaceTable, rows: np.ndarray) -> set[FaceKey]:
    return {(int(f), int(i)) for f, i in zip(table["frame"][rows], table["face_index"][rows])}
