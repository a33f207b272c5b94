"""``-O sample.uniform_pose=true``: draw training faces evenly over head poses (DeepFaceLab's uniform_yaw).

Faces are binned by yaw and pitch into cells of ``CELL`` degrees; every occupied cell is
drawn equally often and the faces of a cell share its turn. A set that is 90% frontal then
teaches its rare turned heads as often as its frontal ones. Poses come from the face
table cached with each set (faceswap/faceset/table.py), so this costs nothing after the
first time.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from faceswap.faceset.store import FaceSet
from faceswap.faceset.table import load_table

CELL = 10.0         # degrees of yaw and of pitch per cell


def uniform_pose_weights(yaw: np.ndarray, pitch: np.ndarray, cell: float = CELL) -> np.ndarray:
    """(N,) probabilities summing to 1: each occupied (yaw, pitch) cell equally likely."""
    cells = np.stack([np.floor(np.asarray(yaw) / cell), np.floor(np.asarray(pitch) / cell)], axis=1)
    _, which, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[which.ravel()]
    return weights / weights.sum()


def pose_weights_for(paths: Sequence[Path]) -> np.ndarray:
    """uniform_pose_weights of face files (any mix of face sets); a face the table lacks gets the mean weight."""
    by_folder: dict[Path, list[int]] = {}
    for i, path in enumerate(paths):
        by_folder.setdefault(path.parent.parent, []).append(i)
    poses = np.full((len(paths), 2), np.nan)
    for folder, indices in by_folder.items():
        table = load_table(FaceSet(folder))
        row = {name: r for r, name in enumerate(table.names)}
        for i in indices:
            r = row.get(paths[i].name)
            if r is not None:
                poses[i] = table["yaw"][r], table["pitch"][r]
    known = ~np.isnan(poses[:, 0])
    weights = np.full(len(paths), 1.0 / max(len(paths), 1))
    if known.any():
        weights[known] = uniform_pose_weights(poses[known, 0], poses[known, 1]) * known.mean()
    return weights / weights.sum()
