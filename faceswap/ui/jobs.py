"""Jobs: the CLI's own commands run as subprocesses; the UI reads their progress from their output.

A job outlives the browser tab that started it (the server holds it, every tab sees the same
list). Progress comes from the tqdm bar the command already draws: its last ``done/total``
(and, for training, ``samples_s=``) in the job's log file under ``<workspace>/logs/ui/``.
Stopping sends SIGTERM, which every command turns into the same clean stop as Ctrl-C
(training saves first, merge removes its partial file).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceswap.workspace import Workspace

TAIL_BYTES = 4096
_COUNT = re.compile(r"\|\s*(\d+)/(\d+)\s*\[|\s(\d+)it\s*\[|:\s*(\d+)(?:/(\d+))?\s*(?:it|frame)")
_RATE = re.compile(r"samples_s=([\d.]+)")
_ITER = re.compile(r"iter=(\d+)")


@dataclass
class Job:
    """One running or finished CLI command."""

    id: int
    kind: str
    target: str                   # what it works on: a face set, a model, an output file
    args: list[str]
    log: Path
    process: subprocess.Popen
    started: float = field(default_factory=time.time)
    stop_requested: bool = False

    def state(self) -> str:
        code = self.process.poll()
        if code is None:
            return "stopping" if self.stop_requested else "running"
        if code == 0:
            return "stopped" if self.stop_requested else "done"
        return "stopped" if self.stop_requested and code in (1, 130, -signal.SIGTERM) else "failed"

    def to_json(self) -> dict[str, Any]:
        tail = _read_tail(self.log)
        progress = parse_progress(tail)
        state = self.state()
        return {"id": self.id, "kind": self.kind, "target": self.target, "state": state,
                "started": self.started, "command": " ".join(["faceswap", *self.args]),
                **progress, "message": last_message(tail, state)}


def _read_tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def parse_progress(text: str) -> dict[str, Any]:
    """The last tqdm state in ``text``: done, total (None when open-ended), samples/s, iteration."""
    result: dict[str, Any] = {"done": 0, "total": None, "samples_s": None, "iteration": None}
    segments = [s for s in re.split(r"[\r\n]", text) if "[" in s]      # tqdm draws "[elapsed<left, rate]"
    for segment in reversed(segments):
        match = _COUNT.search(segment)
        if match:
            if match.group(1):
                result.update(done=int(match.group(1)), total=int(match.group(2)))
            elif match.group(3):
                result.update(done=int(match.group(3)))
            else:
                result.update(done=int(match.group(4)), total=int(match.group(5)) if match.group(5) else None)
            rate, iteration = _RATE.search(segment), _ITER.search(segment)
            result["samples_s"] = float(rate.group(1)) if rate else None
            result["iteration"] = int(iteration.group(1)) if iteration else None
            break
    return result


def last_message(text: str, state: str) -> str:
    """The line worth showing: the command's error, or its last plain line once it ended."""
    lines = [line.strip() for line in re.split(r"[\r\n]", text) if line.strip()]
    for line in reversed(lines):
        if line.startswith(("error:", "faceswap hit a bug")):
            return line
    if state in ("done", "stopped", "failed"):
        plain = [line for line in lines if "|" not in line and not line.startswith("WARNING")]
        return plain[-1] if plain else ""
    return ""


class JobManager:
    """Starts CLI commands as subprocesses and remembers them for every tab."""

    def __init__(self, workspace: Workspace, device: str = "auto", python: str = sys.executable) -> None:
        self.workspace = workspace
        self.device = device
        self.python = python
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, target: str, args: list[str]) -> Job:
        """Run ``faceswap --workspace W --device D ARGS`` (argument list, never a shell)."""
        folder = self.workspace.ensure(self.workspace.logs / "ui")
        with self._lock:
            job_id = max(self._jobs, default=0) + 1
            log = folder / f"job-{int(time.time())}-{job_id}-{kind}.log"
            command = [self.python, "-m", "faceswap", "--workspace", str(self.workspace.root),
                       "--device", self.device, *args]
            env = {**os.environ, "TQDM_MININTERVAL": "0.25", "PYTHONUNBUFFERED": "1"}
            with open(log, "wb") as out:
                # a session of its own: a Ctrl-C meant for the server does not reach the job
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           env=env, start_new_session=True)
            job = Job(job_id, kind, target, args, log, process)
            self._jobs[job_id] = job
            return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def running(self, kind: str, target: str) -> Job | None:
        """The live job of this kind on this target, if any (one writer per face set or model)."""
        for job in self._jobs.values():
            if job.kind == kind and job.target == target and job.process.poll() is None:
                return job
        return None

    def stop(self, job_id: int) -> bool:
        job = self._jobs.get(job_id)
        if job is None or job.process.poll() is not None:
            return False
        job.stop_requested = True
        job.process.send_signal(signal.SIGTERM)
        return True

    def list(self) -> list[dict[str, Any]]:
        return [job.to_json() for job in sorted(self._jobs.values(), key=lambda j: -j.id)]

    def shutdown(self, wait: float = 0.0) -> None:
        """Leave running jobs alone (they finish on their own); only reap the ones that ended."""
        for job in self._jobs.values():
            if job.process.poll() is not None:
                job.process.wait(timeout=wait or None)
