"""Issue 14.1: two writers on one face set or model; a finished set is verifiably complete."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import VIDEO, cut
from faceswap.faceset.store import FaceSet
from cliruns import error_lines, faceswap_cmd, run_cli
from tiny import tiny_cli_options


def _wait_for(condition, proc: subprocess.Popen, what: str, limit: float = 180) -> None:
    deadline = time.time() + limit
    while time.time() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"the first run ended before {what}"
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.mark.slow
def test_second_extract_is_refused_while_the_first_writes(tmp_path):
    clip = cut(VIDEO / "aoc__hdtf_wda_000.mp4", tmp_path / "aoc40.mp4", start=1.0, frames=40, copy_audio=False)
    ws = tmp_path / "ws"
    manifest = ws / "facesets" / "aoc40" / "faceset.json"
    first = subprocess.Popen(faceswap_cmd(ws, "extract", str(clip)), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    _wait_for(lambda: manifest.exists() and json.loads(manifest.read_text())["frames_done"] >= 5, first,
              "five frames were written")
    first.send_signal(signal.SIGSTOP)          # frozen mid-run, still holding the face set
    try:
        second = run_cli(ws, "extract", str(clip), "--fresh")
    finally:
        first.send_signal(signal.SIGCONT)
    out, _ = first.communicate(timeout=300)
    assert second.exit_code == 1, second.output
    [line] = error_lines(second.output)
    assert f"is being written by pid {first.pid}" in line and "extract" in line, line
    assert first.returncode == 0, out
    faceset = FaceSet(ws / "facesets" / "aoc40")
    assert faceset.read_manifest().complete and len(faceset) == 40
    assert faceset.verify() is None


@pytest.mark.slow
def test_second_train_on_one_model_is_refused(tmp_path, train_ws):
    cmd = faceswap_cmd(train_ws, "train", "--batch", "2", "--seed", "1", "--preview-every", "0", "--workers", "0",
                       *tiny_cli_options())
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = train_ws / "models" / "sae" / "loss.jsonl"
    _wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 2, first, "training started")
    first.send_signal(signal.SIGSTOP)
    try:
        second = run_cli(train_ws, "train", "--iters", "1", "--workers", "0", *tiny_cli_options())
    finally:
        first.send_signal(signal.SIGCONT)
        first.send_signal(signal.SIGINT)
    first.communicate(timeout=120)
    assert second.exit_code == 1, second.output
    [line] = error_lines(second.output)
    assert f"model {train_ws / 'models' / 'sae'} is being written by pid {first.pid}" in line, line


def test_faces_lost_from_an_unfinished_set_are_extracted_again(tmp_path, talking_frames):
    """A face file gone from an interrupted set (e.g. wiped by another program) is not trusted on resume."""
    ws = tmp_path / "ws"
    assert run_cli(ws, "extract", str(talking_frames), "--every", "2").exit_code == 0
    faceset = FaceSet(ws / "facesets" / "aoc25")
    complete = [p.name for p in faceset.face_paths()]
    manifest = json.loads(faceset.manifest_path.read_text())
    manifest.update(complete=False, frames_done=16)       # as if killed after frame 15...
    faceset.manifest_path.write_text(json.dumps(manifest))
    for path in faceset.face_paths():
        if path.name.startswith(("000016", "000018", "000020", "000022", "000024", "000004")):
            path.unlink()                                 # ...and frame 4's face went missing meanwhile
    again = run_cli(ws, "extract", str(talking_frames), "--every", "2")
    assert again.exit_code == 0, again.output
    assert [p.name for p in faceset.face_paths()] == complete
    assert faceset.read_manifest().complete and faceset.verify() is None


def test_verify_tells_a_complete_set_from_a_damaged_one(tmp_path, talking_frames):
    ws = tmp_path / "ws"
    assert run_cli(ws, "extract", str(talking_frames), "--every", "5").exit_code == 0
    faceset = FaceSet(ws / "facesets" / "aoc25")
    assert faceset.verify() is None
    faceset.face_paths()[2].unlink()
    problem = faceset.verify()
    assert problem is not None and "1 of its 5 face files" in problem
