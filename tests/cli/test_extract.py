"""``faceswap extract`` end to end on real clips through the real CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data as skdata

from conftest import GROUP, PHOTOS, VIDEO, cut
from faceswap.cli.main import cli
from faceswap.faceset.store import FaceSet, read_face
from faceswap.media.image import write_image


def run(workspace: Path, *args: str):
    return CliRunner().invoke(cli, ["--workspace", str(workspace), "--device", "cpu", *args])


def test_extract_writes_a_face_set(workspace, talking_frames):
    result = run(workspace, "extract", str(talking_frames))
    assert result.exit_code == 0, result.output
    assert "25 frames read, 25 faces written, 0 frames without a face" in result.output
    faceset = FaceSet(workspace / "facesets" / "aoc25")
    manifest = faceset.read_manifest()
    assert manifest.complete and manifest.frames_done == 25 and manifest.fps == "25"
    assert [p["name"] for p in manifest.plugins] == ["scrfd", "2d106", "extended", "arcface"]
    image, record = read_face(faceset.face_paths()[3])
    assert image.shape == (256, 256, 3) and record.frame_index == 3 and record.source == "aoc25.mp4"
    assert record.embedding.shape == (512,) and set(record.masks) == {"extended"}
    # the mask covers the middle of the face and not the corners
    mask = record.mask()
    assert mask[128, 128] == 1.0 and mask[5, 5] == 0.0


def test_deleting_a_face_file_drops_that_face(workspace, talking_frames):
    assert run(workspace, "extract", str(talking_frames), "--every", "5").exit_code == 0
    faceset = FaceSet(workspace / "facesets" / "aoc25")
    paths = faceset.face_paths()
    paths[1].unlink()
    assert [r.frame_index for _, r in faceset.records()] == [0, 10, 15, 20]


@pytest.mark.slow
def test_kill_and_resume_gives_the_same_face_set(tmp_path, talking_frames):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert run(clean, "extract", str(talking_frames), "--redetect", "2").exit_code == 0
    manifest = killed / "facesets" / "aoc25" / "faceset.json"
    cmd = [sys.executable, "-m", "faceswap", "--workspace", str(killed), "--device", "cpu",
           "extract", str(talking_frames), "--redetect", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:       # kill -9 once a few frames are safely on disk
        if manifest.exists() and json.loads(manifest.read_text())["frames_done"] >= 6:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads(manifest.read_text())["frames_done"]
    assert 6 <= done < 25, "the kill should land mid-run"
    resumed = run(killed, "extract", str(talking_frames), "--redetect", "2")
    assert resumed.exit_code == 0, resumed.output
    assert f"resumed at frame {done}" in resumed.output
    a = FaceSet(clean / "facesets" / "aoc25")
    b = FaceSet(killed / "facesets" / "aoc25")
    assert [p.name for p in a.face_paths()] == [p.name for p in b.face_paths()]
    for pa, pb in zip(a.face_paths(), b.face_paths()):
        image_a, rec_a = read_face(pa)
        image_b, rec_b = read_face(pb)
        assert np.array_equal(image_a, image_b)
        assert np.array_equal(rec_a.matrix, rec_b.matrix)
        assert rec_a.track == rec_b.track is not None      # the resumed run continues the same tracks
    assert not list((b.folder).rglob(".*.tmp"))


def test_rerun_of_a_finished_face_set_adds_nothing(workspace, talking_frames):
    assert run(workspace, "extract", str(talking_frames), "--every", "5").exit_code == 0
    again = run(workspace, "extract", str(talking_frames), "--every", "5")
    assert again.exit_code == 0 and "0 frames read" in again.output and "holds 5 faces" in again.output
    other = run(workspace, "extract", str(talking_frames), "--every", "3")
    assert other.exit_code == 1 and "other settings" in other.output and "--fresh" in other.output
    fresh = run(workspace, "extract", str(talking_frames), "--every", "3", "--fresh")
    assert fresh.exit_code == 0 and "holds 9 faces" in fresh.output


def test_ref_keeps_only_the_chosen_person(workspace, image_folder):
    folder = image_folder(GROUP / "two_people.jpg", GROUP / "obama_and_biden.jpg")
    result = run(workspace, "extract", str(folder), "--ref", str(PHOTOS / "biden" / "biden2.jpg"))
    assert result.exit_code == 0, result.output
    faces = list(FaceSet(workspace / "facesets" / "photos").records())
    assert len(faces) == 2, [(p.name, r.frame_name) for p, r in faces]
    assert sorted(r.frame_name for _, r in faces) == ["obama_and_biden.jpg", "two_people.jpg"]


def test_apache_licensed_set_extracts_without_insightface(workspace, talking_frames):
    result = run(workspace, "extract", str(talking_frames), "--detector", "blazeface", "--landmarker",
                 "facemesh", "--identity", "none", "--masker", "hull", "--every", "4")
    assert result.exit_code == 0, result.output
    records = [r for _, r in FaceSet(workspace / "facesets" / "aoc25").records()]
    assert len(records) == 7 and all(r.embedding is None for r in records)
    assert {p.name for p in records[0].producers} == {"blazeface", "facemesh", "hull"}


def test_bad_inputs_give_one_line_errors(tmp_path, workspace):
    def error_of(*args: str, ws: Path = workspace) -> str:
        result = run(ws, *args)
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, result.output
        return lines[0]

    assert "file not found" in error_of("extract", str(tmp_path / "nope.mp4"))
    notes = tmp_path / "notes.mp4"
    notes.write_text("hello")
    assert "is not a video" in error_of("extract", str(notes))
    no_face = cut(VIDEO / "foreman__cif_h264_conformance.mp4", tmp_path / "site.mp4", start=7.5, frames=12,
                  copy_audio=False)
    message = error_of("extract", str(no_face))
    assert "no face found in any of the 12 frames" in message
    assert not (workspace / "facesets" / "site").exists()
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert "cannot write to" in error_of("extract", str(no_face), ws=blocker / "ws")
    assert "did you mean 'scrfd'" in error_of("extract", str(no_face), "--detector", "scrdf")
    assert "unknown option 'treshold'" in error_of("extract", str(no_face), "-O", "detector.treshold=0.4")
    assert "--ref photo not found" in error_of("extract", str(no_face), "--ref", str(tmp_path / "x.jpg"))
    coffee = tmp_path / "coffee.png"
    write_image(coffee, skdata.coffee())      # a real photo with no face in it
    assert "no face found in the --ref photo" in error_of("extract", str(no_face), "--ref", str(coffee))


def test_every_option_has_help():
    def walk(command, path):
        yield path, command
        subcommands = command.all_commands if command is cli else getattr(command, "commands", {})
        for name, sub in subcommands.items():
            yield from walk(sub, [*path, name])

    for path, command in walk(cli, []):
        if not path:
            continue
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and command.help, path
        options = [p for p in command.params if p.param_type_name == "option"]
        assert all(p.help for p in options), f"{' '.join(path)}: an option lacks help"
    assert all(p.help for p in cli.params if p.param_type_name == "option" and p.name != "version")
