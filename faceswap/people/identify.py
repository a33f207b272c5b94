"""Who is in a face set: its tracks clustered into people, kept stable from one run to the next.

The first run clusters every track and numbers the people by face count (person-1 has the
most faces). Later runs keep each person's id, name and tracks, and only place tracks that
are new (a resumed extract) or pass ``fresh=True`` to cluster everything again; names
then move to the new person sharing the most tracks with the old one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faceswap.errors import FaceSetError
from faceswap.extract.linking import unit_mean
from faceswap.faceset.table import FaceTable
from faceswap.people.clustering import SAME_PERSON, cluster_tracks
from faceswap.people.roster import Person, Roster
from faceswap.people.tracks import Track, track_keys, tracks_of


@dataclass(frozen=True)
class People:
    """A face set's table, each face's track key, and the roster of people those tracks form."""

    table: FaceTable
    keys: np.ndarray            # (N,) track key of each row
    roster: Roster

    def rows_of(self, person: Person) -> np.ndarray:
        """Rows of this person's faces, in frame order."""
        rows = np.flatnonzero(np.isin(self.keys, np.asarray(person.tracks, np.int64)))
        return rows[np.lexsort((self.table["face_index"][rows], self.table["frame"][rows]))]

    def identity_of(self, person: Person) -> np.ndarray | None:
        """Unit mean identity of a person's faces (None without embeddings)."""
        return mean_identity(self.table, self.rows_of(person))

    def closest(self, identity: np.ndarray) -> tuple[float, Person | None]:
        """The person whose mean identity is most like the unit vector ``identity``, and that cosine."""
        scored = [(float(mean @ identity), person) for person in self.roster.persons
                  if (mean := self.identity_of(person)) is not None]
        return max(scored, key=lambda s: s[0], default=(-1.0, None))

    def person_of_rows(self) -> list[str | None]:
        """The person id of every row (None for a track no person holds)."""
        owner = self.roster.person_of_track()
        return [owner.get(int(k)) for k in self.keys]


def identify(table: FaceTable, previous: Roster | None, threshold: float = SAME_PERSON,
             fresh: bool = False) -> People:
    """Cluster the table's tracks into people, starting from ``previous`` unless ``fresh``."""
    if len(table) and not table.has_embedding.any():
        raise FaceSetError(f"face set {table.folder.parent} holds no identity embeddings (extracted with "
                           f"--identity none): telling people apart needs them; extract it again with --fresh "
                           f"and an identity plugin")
    keys = track_keys(table)
    tracks = tracks_of(table, keys)
    if previous is None or fresh:
        groups = cluster_tracks(tracks, threshold)
        roster = _new_roster(tracks, groups, threshold, previous)
    else:
        roster = _extend(tracks, previous, threshold)
    return People(table, keys, roster)


def mean_identity(table: FaceTable, rows: np.ndarray) -> np.ndarray | None:
    with_identity = rows[table.has_embedding[rows]]
    if not len(with_identity):
        return None
    return unit_mean(table.embeddings[with_identity].astype(np.float64).sum(0))


def _new_roster(tracks: Sequence[Track], groups: list[list[int]], threshold: float,
                previous: Roster | None) -> Roster:
    persons = [Person(f"person-{i + 1}", None, tuple(sorted(tracks[t].key for t in group)))
               for i, group in enumerate(groups)]
    if previous is not None:       # names follow the tracks they were given to
        taken: set[int] = set()
        for old in previous.persons:
            if old.name is None:
                continue
            overlap = [(len(set(old.tracks) & set(p.tracks)), i) for i, p in enumerate(persons) if i not in taken]
            best = max(overlap, default=(0, -1))
            if best[0] > 0:
                taken.add(best[1])
                persons[best[1]] = Person(persons[best[1]].id, old.name, persons[best[1]].tracks)
    return Roster(tuple(persons), threshold)


def _extend(tracks: Sequence[Track], previous: Roster, threshold: float) -> Roster:
    """``previous`` with its vanished tracks dropped and new tracks given to the person they resemble."""
    index = {track.key: i for i, track in enumerate(tracks)}
    alive = [p for p in previous.persons if any(t in index for t in p.tracks)]
    seeds = [[index[t] for t in p.tracks if t in index] for p in alive]
    groups = cluster_tracks(tracks, threshold, seeds=seeds)
    persons = []
    roster = Roster(tuple(alive), threshold)
    for group in groups:
        keys = tuple(sorted(tracks[i].key for i in group))
        owner = next((p for p, seed in zip(alive, seeds) if set(seed) & set(group)), None)
        if owner is None:
            owner = Person(roster.next_id(), None, ())
            roster = Roster((*roster.persons, owner), threshold)
        persons.append(Person(owner.id, owner.name, keys))
    ordered = sorted(persons, key=lambda p: int(p.id.rsplit("-", 1)[1]))
    return Roster(tuple(ordered), threshold)
