"""Pose coverage (``faceswap faces coverage``) and drawing training faces evenly over poses."""
from __future__ import annotations

import re
import shutil

import numpy as np

from cliruns import run_cli
from faceswap.curate.coverage import pose_coverage
from faceswap.faceset.store import FaceSet
from faceswap.faceset.table import load_table
from faceswap.media.image import read_image
from faceswap.media.pngmeta import read_json
from faceswap.media.sheet import PROVENANCE_KEY
from faceswap.train.pose_balance import CELL, pose_weights_for
from faceswap.train.samples import FacePairDataset, SampleConfig


def test_frontal_source_leaves_turned_destination_faces_uncovered(tmp_path, foreman_root, two_people_root):
    ws = tmp_path / "ws"
    shutil.copytree(foreman_root / "facesets", ws / "facesets")
    shutil.copytree(two_people_root / "facesets" / "two_people", ws / "facesets" / "two_people")
    result = run_cli(ws, "faces", "coverage", "--src", "two_people", "--dst", "foreman", "-o", str(tmp_path / "a.png"))
    assert result.exit_code == 0, result.output
    share = int(re.search(r"(\d+)% of \d+ dst faces have fewer than 3 src faces", result.output).group(1))
    assert share >= 30, result.output           # talking heads facing the camera do not show Foreman's turns
    turned = re.search(r"(\d+)% of dst faces are turned to the image's right 20-40 deg; src has (\d+) such",
                       result.output)
    assert turned and int(turned.group(1)) >= 10 and int(turned.group(2)) == 0
    atlas = read_image(tmp_path / "a.png")
    assert atlas.shape[1] > 2 * atlas.shape[0]
    assert "made with faceswap" in read_json(tmp_path / "a.png", PROVENANCE_KEY.encode()).lower()
    itself = run_cli(ws, "faces", "coverage", "--src", "foreman", "--dst", "foreman", "-k", "1",
                     "-o", str(tmp_path / "b.png"))
    assert "0% of" in itself.output              # every face is near itself


def test_coverage_counts_neighbours_within_the_radius():
    src = np.array([[0.0, 0.0], [5.0, 0.0], [8.0, 3.0], [50.0, 0.0]])
    dst = np.array([[2.0, 1.0], [45.0, 0.0], [-60.0, 10.0]])
    report = pose_coverage(src, dst, radius=10.0, min_neighbours=2)
    assert report.uncovered.tolist() == [False, True, True]
    beyond_left = next(r for r in report.regions if r.what.startswith("turned to the image's left beyond"))
    assert beyond_left.dst_faces == 1 and beyond_left.src_faces == 0


def test_uniform_pose_draws_every_pose_cell_equally(foreman_root):
    faces = FaceSet(foreman_root / "facesets" / "foreman")
    paths = faces.face_paths()
    table = load_table(faces)
    cells = {name: (np.floor(y / CELL), np.floor(p / CELL)) for name, y, p in
             zip(table.names, table["yaw"], table["pitch"])}
    config = SampleConfig(resolution=64, coverage=1.6, uniform_pose=True)
    plain = FacePairDataset(paths, paths, config, seed=3)
    even = FacePairDataset(paths, paths, config, seed=3, weights={"src": pose_weights_for(paths)})

    def cell_shares(dataset: FacePairDataset) -> np.ndarray:
        drawn = [cells[paths[dataset.pick("src", np.random.default_rng([3, i]))].name] for i in range(6000)]
        _, counts = np.unique(np.array(drawn), axis=0, return_counts=True)
        return counts / counts.sum()

    occupied = len(set(cells.values()))
    assert occupied >= 10
    uniform, by_face = cell_shares(even), cell_shares(plain)
    assert np.abs(uniform - 1 / occupied).max() < 0.5 / occupied       # each cell drawn about equally
    assert by_face.max() > 3 * uniform.max()                            # without it, the common poses dominate


def test_training_takes_the_uniform_pose_option(train_ws, registry, cpu):
    from faceswap.train.session import run_training
    from faceswap.workspace import Workspace
    from tiny import tiny_request

    summary = run_training(tiny_request(1, sample_options={"uniform_pose": True}), Workspace(train_ws), registry, cpu)
    assert summary.iteration == 1
