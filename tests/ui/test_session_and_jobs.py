"""Merge session files (read by 'faceswap merge --session') and the job progress the UI reads."""
from __future__ import annotations

import json

import numpy as np
import pytest

from cliruns import error_lines, run_cli
from conftest import VIDEO
from faceswap.errors import InputError
from faceswap.media.image import read_image
from faceswap.merge.session import PasteStyle, session_from_json
from faceswap.merge.sharpen import DEFAULT_AMOUNT as DEFAULT_SHARPEN
from faceswap.ui.jobs import parse_progress

BASE = {"format": "faceswap-merge-session", "schema": 1, "settings": {"color": "rct", "erode": 0.0}}


def test_later_ranges_win_and_only_their_frames_change():
    session = session_from_json({**BASE, "ranges": [{"start": 10, "end": 20, "settings": {"erode": 0.1}},
                                                   {"start": 15, "end": 15, "settings": {"blender": "seamless"}}]}, "s")
    assert session.style_at(9) == PasteStyle()
    assert session.style_at(10).erode == 0.1 and session.style_at(20).erode == 0.1
    assert session.style_at(15) == PasteStyle(erode=0.1, blender="seamless")
    assert len(session.styles()) == 3
    sharper = session_from_json({**BASE, "ranges": [{"start": 5, "end": 6, "settings": {"sharpen": "0.5"}}]}, "s")
    assert sharper.style_at(4).sharpen == DEFAULT_SHARPEN and sharper.style_at(5).sharpen == 0.5
    assert sharper.to_json()["settings"]["sharpen"] == DEFAULT_SHARPEN == 1.0     # merge's default applies


def test_sessions_take_stored_mask_names_like_merge_mask():
    session = session_from_json({**BASE, "settings": {"mask": "segment"}, "ranges": [
        {"start": 3, "end": 4, "settings": {"mask": "segment+predicted"}}]}, "s.json")
    assert session.style_at(0).mask == "segment" and session.style_at(3).mask == "segment+predicted"
    assert {style.mask for style in session.styles()} == {"segment", "segment+predicted"}


@pytest.mark.parametrize("bad, words", [
    ({"format": "other"}, "not a merge session"),
    ({**BASE, "settings": {"erode": 2}}, "erode 2.0 is out of range"),
    ({**BASE, "ranges": [{"start": 0, "end": 1, "settings": {"sharpen": -1}}]}, "range 1: sharpen -1.0 is out of range"),
    ({**BASE, "settings": {"sharpen": "much"}}, "sharpen must be numbers"),
    ({**BASE, "settings": {"mask": "no mask"}}, "mask 'no mask'"),
    ({**BASE, "ranges": [{"start": 0, "end": 1, "settings": {"mask": "segment+hull"}}]}, "range 1: mask 'segment\\+hull'"),
    ({**BASE, "settings": {"mask": 3}}, "mask must be a text"),
    ({**BASE, "ranges": [{"start": 5, "end": 2}]}, "range 1: frames 5..2"),
    ({**BASE, "ranges": [{"start": 0, "end": 1, "settings": {"gamma": 1}}]}, "unknown setting 'gamma'"),
])
def test_bad_sessions_are_one_line_errors(bad, words):
    with pytest.raises(InputError, match=words):
        session_from_json(bad, "s.json")


def test_progress_is_read_from_the_commands_own_bars():
    assert parse_progress("extract a.mp4:  40%|####  | 10/25 [00:01<00:02, 5.00frame/s]\r")["done"] == 10
    assert parse_progress("mask src: 100%|##########| 8/8 [00:00<00:00, 28.05face/s]\r")["total"] == 8
    train = parse_progress("train sae: 12it [00:03, 3.1it/s, iter=12, samples_s=49.6, src=0.1]\r")
    assert train == {"done": 12, "total": None, "samples_s": 49.6, "iteration": 12}


def test_merge_session_overrides_apply_to_their_frames_only(model_ws, tmp_path):
    video = VIDEO / "katie_hill__hdtf_wda_000.mp4"        # the 'dst' face set's video: faces every 25 frames
    session = tmp_path / "s.json"
    session.write_text(json.dumps({**BASE, "model": "sae", "settings": {"color": "none", "blur": 0.02},
                                   "ranges": [{"start": 20, "end": 30, "settings": {"erode": 0.2, "blur": 0.0}}]}))
    shots = {}
    for name, frame, extra in (("plain25", 25, ()), ("session25", 25, ("--session", str(session))),
                               ("plain50", 50, ()), ("session50", 50, ("--session", str(session)))):
        out = tmp_path / f"{name}.png"
        result = run_cli(model_ws, "merge", str(video), "--faceset", "dst", "--preview-frame", str(frame),
                         "--color", "none", "--blur", "0.02", "--no-smooth", "-o", str(out), *extra)
        assert result.exit_code == 0, result.output
        shots[name] = read_image(out).astype(int)
    assert np.abs(shots["plain25"] - shots["session25"]).max() > 30, "frame 25 is in the range: eroded mask"
    assert np.array_equal(shots["plain50"], shots["session50"]), "frame 50 is outside: the base settings"
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    result = run_cli(model_ws, "merge", str(video), "--faceset", "dst", "--preview-frame", "25", "--session", str(bad))
    assert result.exit_code == 1 and len(error_lines(result.output)) == 1 and "bad.json" in result.output


def test_a_recorded_job_whose_pid_now_runs_something_else_is_not_reattached(tmp_path):
    """A pid reused by another program (here: this test's own) is not the job; its status file tells how it ended."""
    import os

    from faceswap.ui.jobs import Job

    status = tmp_path / "job-1.status.json"
    record = {"id": 1, "kind": "train", "target": "sae", "args": ["train"], "log": str(tmp_path / "job-1.log"),
              "status": str(status), "pid": os.getpid(), "started": 0.0, "stop_requested": False, "exit_code": None}
    lost = Job.from_record(record)
    assert lost.state() == "ended" and "exit status unknown" in lost.to_json()["message"]
    status.write_text('{"exit": 2, "ended": 1.0}')
    failed = Job.from_record(record)
    assert (failed.state(), failed.exit_code) == ("failed", 2)
