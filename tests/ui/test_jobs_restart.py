"""The job list survives the server: a restarted ``faceswap ui`` re-attaches to a running job and keeps the exit
status of finished ones (real server processes, a real tiny training job)."""
from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from ui_helpers import start_server, stop_server

pytestmark = pytest.mark.slow


def _get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=10) as response:
        return json.loads(response.read())


def _post(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait(base: str, test, seconds: float = 120) -> dict:
    """The job list once ``test(jobs[0])`` holds."""
    deadline = time.monotonic() + seconds
    while True:
        job = _get(base, "/api/jobs")["jobs"][0]
        if test(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


@pytest.fixture
def jobs_left(model_ws: Path):
    """After the test, end any job it left running (a failed assert must not leave a training behind)."""
    yield
    record = model_ws / "logs" / "ui" / "jobs.json"
    for job in json.loads(record.read_text())["jobs"] if record.is_file() else []:
        cmdline = Path(f"/proc/{job['pid']}/cmdline")
        if cmdline.is_file() and job["status"].encode() in cmdline.read_bytes():
            os.kill(job["pid"], signal.SIGKILL)


def test_a_restarted_server_lists_and_stops_the_running_job(model_ws: Path, tmp_path: Path, jobs_left):
    log = tmp_path / "server.log"
    first, base = start_server(model_ws, log)
    try:
        job = _post(base, "/api/train", {"name": "sae", "batch": 4, "preview_every": 0})["job"]
        _wait(base, lambda j: (j["iteration"] or 0) >= 3)
    finally:
        stop_server(first)                                   # the server goes; the job must not
    record = json.loads((model_ws / "logs" / "ui" / "jobs.json").read_text())["jobs"][0]
    assert record["id"] == job["id"] and record["exit_code"] is None

    second, base = start_server(model_ws, log)
    try:
        again = _get(base, "/api/jobs")["jobs"][0]
        assert (again["id"], again["kind"], again["target"], again["state"]) == (job["id"], "train", "sae", "running")
        later = _wait(base, lambda j: (j["iteration"] or 0) > (again["iteration"] or 0))   # progress from its log
        assert later["state"] == "running"
        assert _post(base, f"/api/jobs/{job['id']}/stop", {})["stopped"] is True
        ended = _wait(base, lambda j: j["state"] != "stopping" and j["state"] != "running")
        assert (ended["state"], ended["exit_code"]) == ("stopped", 0), ended
    finally:
        stop_server(second)
    saved = json.loads((model_ws / "models" / "sae" / "trainer.json").read_text())["iteration"]
    assert saved >= later["iteration"]

    third, base = start_server(model_ws, log)                # a finished job keeps its exit status
    try:
        listed = _get(base, "/api/jobs")["jobs"]
        assert [(j["id"], j["state"], j["exit_code"]) for j in listed] == [(job["id"], "stopped", 0)]
        assert "trained iterations" in listed[0]["message"]
    finally:
        stop_server(third)
