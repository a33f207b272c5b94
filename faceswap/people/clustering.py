"""Group tracks into people by identity.

Agglomerative clustering on the tracks' identity: each step joins the two groups whose
mean identities (every face weighing the same) are the most alike, as long as that
cosine reaches ``threshold`` and no frame shows a face of each (two faces in one frame
are two people). Tracks are a few hundred at most, so this is instant.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceswap.people.tracks import Track

SAME_PERSON = 0.4       # cosine of two groups' mean identities (ArcFace: same person 0.5-0.9, others < 0.25)


def cluster_tracks(tracks: Sequence[Track], threshold: float = SAME_PERSON,
                   seeds: Sequence[Sequence[int]] = ()) -> list[list[int]]:
    """Groups of indices into ``tracks``, largest group (most faces) first.

    ``seeds`` are groups known already (people found before): each starts as one group,
    takes in the tracks that are like it, and never joins another seed. Tracks without an
    identity stay groups of their own.
    """
    if not tracks:
        return []
    seeded = {i for seed in seeds for i in seed}
    groups = [list(seed) for seed in seeds if seed] + [[i] for i in range(len(tracks)) if i not in seeded]
    dim = _dim(tracks)
    sums = np.stack([sum((tracks[i].identity_sum for i in g if tracks[i].identity_sum is not None),
                         np.zeros(dim)) for g in groups])
    membership = np.zeros((len(groups), len(tracks)))
    for g, group in enumerate(groups):
        membership[g, group] = 1.0
    apart = (membership @ _co_occurring(tracks) @ membership.T) > 0
    n_seeds = sum(1 for seed in seeds if seed)
    apart[:n_seeds, :n_seeds] = True                # people found before stay apart
    np.fill_diagonal(apart, False)
    members: list[list[int] | None] = list(groups)
    similarity = _cosines(sums, sums)
    np.fill_diagonal(similarity, -np.inf)
    similarity[apart] = -np.inf
    similarity[~sums.any(1), :] = -np.inf
    similarity[:, ~sums.any(1)] = -np.inf
    while len(members) > 1:
        a, b = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
        if similarity[a, b] < threshold:
            break
        if a >= n_seeds and b < n_seeds:
            a, b = b, a                             # a seed keeps its place (and its person)
        members[a] = members[a] + members[b]        # type: ignore[operator]
        members[b] = None
        sums[a] += sums[b]
        apart[a] |= apart[b]
        apart[:, a] = apart[a]
        row = _cosines(sums[a:a + 1], sums)[0]
        row[apart[a]] = -np.inf
        row[a] = -np.inf
        row[[i for i, m in enumerate(members) if m is None]] = -np.inf
        similarity[a, :] = row
        similarity[:, a] = row
        similarity[b, :] = similarity[:, b] = -np.inf
    found = [m for m in members if m is not None]
    return sorted(found, key=lambda g: (-sum(tracks[i].faces for i in g), min(g)))


def _dim(tracks: Sequence[Track]) -> int:
    return next((len(t.identity_sum) for t in tracks if t.identity_sum is not None), 1)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return (a / np.where(na > 0, na, 1)) @ (b / np.where(nb > 0, nb, 1)).T


def _co_occurring(tracks: Sequence[Track]) -> np.ndarray:
    """``(n, n)`` float: 1 where two tracks have a face in the same frame, else 0."""
    n = len(tracks)
    by_frame: dict[int, list[int]] = {}
    for i, track in enumerate(tracks):
        for frame in track.frames:
            by_frame.setdefault(frame, []).append(i)
    apart = np.zeros((n, n))
    for present in by_frame.values():
        if len(present) > 1:
            index = np.asarray(present)
            apart[np.ix_(index, index)] = 1.0
    np.fill_diagonal(apart, 0.0)
    return apart
