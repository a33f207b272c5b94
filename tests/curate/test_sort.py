"""``faceswap faces sort``: orders that mean what they say, on real faces."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from cliruns import run_cli
from faceswap.atomic import write_atomic
from faceswap.faceset.schema import record_to_json
from faceswap.faceset.store import FaceSet, read_face
from faceswap.faceset.table import load_table
from faceswap.media.image import encode_image, read_image, write_image
from faceswap.media.pngmeta import embed_json
from faceswap.media.video import open_source


def _names(output: str) -> list[str]:
    """The face names of sort's lines ``rank  name  key value`` (progress bars end in carriage returns)."""
    lines = (line.strip() for line in re.split(r"[\r\n]", output))
    return [line.split()[1] for line in lines if line[:1].isdigit() and ".png" in line]


@pytest.fixture
def ws(tmp_path, two_people_root) -> Path:
    shutil.copytree(two_people_root, tmp_path / "ws")
    return tmp_path / "ws"


def test_a_blurred_copy_of_a_face_sorts_to_the_blurry_end(ws):
    faces = FaceSet(ws / "facesets" / "two_people")
    image, record = read_face(faces.face_paths()[20])
    blurred = cv2.GaussianBlur(image, (0, 0), 2.0)
    write_atomic(faces.faces_dir / "000999_00.png", embed_json(encode_image(blurred, ".png"), record_to_json(record)))
    result = run_cli(ws, "faces", "sort", "two_people", "--by", "blur")
    assert result.exit_code == 0, result.output
    names = _names(result.output)
    assert len(names) == 101 and names[-1] == "000999_00.png"
    assert _names(run_cli(ws, "faces", "sort", "two_people", "--by", "blur", "--reverse", "--top", "1").output) == \
        ["000999_00.png"]


def test_sorting_by_yaw_orders_a_head_turning_from_left_to_right(foreman_root, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(foreman_root / "facesets", ws / "facesets")
    turn = [f"{frame:06d}_00.png" for frame in range(75, 91)]     # his head turns from right to left
    folder = ws / "facesets" / "foreman" / "faces"
    for path in folder.glob("*.png"):
        if path.name not in turn:
            path.unlink()
    result = run_cli(ws, "faces", "sort", "foreman", "--by", "yaw", "--sheet", str(tmp_path / "yaw.png"))
    assert result.exit_code == 0, result.output
    order = [int(name[:6]) for name in _names(result.output)]
    ranks = np.argsort(np.argsort(order))
    correlation = np.corrcoef(ranks, np.arange(len(order)))[0, 1]
    assert correlation < -0.95, f"yaw order {order} does not follow the turn"      # turned left first: last frames
    assert order[0] >= 86 and order[-1] <= 78
    assert read_image(tmp_path / "yaw.png").shape[1] == 12 * 96


def test_similarity_and_identity_group_a_person(ws, two_people_clip, tmp_path):
    frame = next(iter(open_source(two_people_clip).frames(start=25)))
    write_image(tmp_path / "katie.png", frame.image[:, 256:])
    table = load_table(FaceSet(ws / "facesets" / "two_people"))
    right = {n for n, box in zip(table.names, table.boxes) if box[0] > 256}
    similar = run_cli(ws, "faces", "sort", "two_people", str(tmp_path / "katie.png"), "--by", "similarity-to")
    assert similar.exit_code == 0, similar.output
    assert set(_names(similar.output)[:50]) == right
    grouped = _names(run_cli(ws, "faces", "sort", "two_people", "--by", "identity").output)
    assert set(grouped[:50]) in (right, set(table.names) - right)
    missing = run_cli(ws, "faces", "sort", "two_people", "--by", "similarity-to")
    assert missing.exit_code == 1 and "needs a PHOTO" in missing.output


def test_every_sort_key_runs_and_the_second_run_reads_the_cache(ws):
    for key in ("pose", "pitch", "brightness", "size", "score"):
        result = run_cli(ws, "faces", "sort", "two_people", "--by", key, "--top", "3")
        assert result.exit_code == 0 and len(_names(result.output)) == 3, result.output
    assert load_table(FaceSet(ws / "facesets" / "two_people")).measured == 0
