"""Jobs: the CLI's own commands run as subprocesses; the UI reads their progress from their output.

A job outlives the browser tab that started it (the server holds it, every tab sees the same
list) and the server too: every job is recorded in ``<workspace>/logs/ui/jobs.json`` (written
atomically), so a restarted server lists the finished ones with their exit status and re-attaches
to the running ones, by pid once /proc shows that pid still runs the job's own command line.
Each job runs through ``faceswap.ui.jobrun``, which writes its exit status to a file of its own,
because a restarted server is not the job's parent and cannot wait for it.
Progress comes from the tqdm bar the command already draws: its last ``done/total``
(and, for training, ``samples_s=``) in the job's log file under ``<workspace>/logs/ui/``.
Stopping sends SIGTERM, which every command turns into the same clean stop as Ctrl-C
(training saves first, merge removes its partial file).
"""
from __future__ import annotations

import json
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

from faceswap.atomic import write_json_atomic
from faceswap.workspace import Workspace

TAIL_BYTES = 4096
RECORD = "jobs.json"
KEEP_FINISHED = 200            # finished jobs kept in the record (the newest)
_COUNT = re.compile(r"\|\s*(\d+)/(\d+)\s*\[|\s(\d+)it\s*\[|:\s*(\d+)(?:/(\d+))?\s*(?:it|frame)")
_RATE = re.compile(r"samples_s=([\d.]+)")
_ITER = re.compile(r"iter=(\d+)")
STOP_CODES = (1, 130, 128 + signal.SIGTERM, -signal.SIGTERM)


@dataclass
class Job:
    """One running or finished CLI command; ``process`` is None for a job a previous server started."""

    id: int
    kind: str
    target: str                   # what it works on: a face set, a model, an output file
    args: list[str]
    log: Path
    status: Path                  # where jobrun writes the exit status
    pid: int
    process: subprocess.Popen | None = None
    started: float = field(default_factory=time.time)
    stop_requested: bool = False
    exit_code: int | None = None
    lost: bool = False            # ended while no server watched, without writing its status

    def poll(self) -> int | None:
        """The exit code once the job ended (None while it runs, or when it ended without one)."""
        if self.exit_code is not None or self.lost:
            return self.exit_code
        if self.process is not None:
            self.exit_code = self.process.poll()
        elif not _runs_job(self.pid, self.status):
            self.exit_code = _read_status(self.status)
            self.lost = self.exit_code is None
        return self.exit_code

    def alive(self) -> bool:
        return self.poll() is None and not self.lost

    def state(self) -> str:
        code = self.poll()
        if code is None:
            return "ended" if self.lost else "stopping" if self.stop_requested else "running"
        if code == 0:
            return "stopped" if self.stop_requested else "done"
        return "stopped" if self.stop_requested and code in STOP_CODES else "failed"

    def to_json(self) -> dict[str, Any]:
        tail = _read_tail(self.log)
        progress = parse_progress(tail)
        state = self.state()
        message = last_message(tail, state) or ("it ended while no server watched it: exit status unknown"
                                                if self.lost else "")
        return {"id": self.id, "kind": self.kind, "target": self.target, "state": state, "exit_code": self.exit_code,
                "started": self.started, "command": " ".join(["faceswap", *self.args]), **progress,
                "message": message}

    def record(self) -> dict[str, Any]:
        """What jobs.json keeps of the job."""
        return {"id": self.id, "kind": self.kind, "target": self.target, "args": self.args, "log": str(self.log),
                "status": str(self.status), "pid": self.pid, "started": self.started,
                "stop_requested": self.stop_requested, "exit_code": self.exit_code, "lost": self.lost}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Job:
        return cls(id=int(data["id"]), kind=str(data["kind"]), target=str(data["target"]),
                   args=[str(a) for a in data["args"]], log=Path(data["log"]), status=Path(data["status"]),
                   pid=int(data["pid"]), started=float(data["started"]), stop_requested=bool(data["stop_requested"]),
                   exit_code=data["exit_code"], lost=bool(data.get("lost", False)))


def _runs_job(pid: int, status: Path) -> bool:
    """Whether ``pid`` is alive and still the job: its command line names the job's status file
    (a pid reused by another program does not)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        if Path("/proc/self").is_dir():
            return False                 # /proc works, so the pid is gone
        try:                             # no /proc (macOS): the pid alone
            os.kill(pid, 0)
            return True
        except OSError:
            return False
    return os.fsencode(str(status)) in cmdline


def _read_status(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["exit"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


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
    """Starts CLI commands as subprocesses and remembers them, for every tab and the next server."""

    def __init__(self, workspace: Workspace, device: str = "auto", python: str = sys.executable) -> None:
        self.workspace = workspace
        self.device = device
        self.python = python
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {job.id: job for job in self._load()}

    @property
    def folder(self) -> Path:
        return self.workspace.logs / "ui"

    def _load(self) -> list[Job]:
        try:
            data = json.loads((self.folder / RECORD).read_text(encoding="utf-8"))
            return [Job.from_record(item) for item in data["jobs"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError):
            return []                    # a damaged record loses the list, never the jobs themselves

    def _save(self) -> None:
        """Write jobs.json (the caller holds the lock); finished jobs beyond KEEP_FINISHED are dropped."""
        jobs = sorted(self._jobs.values(), key=lambda j: -j.id)
        finished = [j for j in jobs if not j.alive()][KEEP_FINISHED:]
        for job in finished:
            del self._jobs[job.id]
        write_json_atomic(self.folder / RECORD, {"jobs": [j.record() for j in jobs if j.id in self._jobs]})

    def start(self, kind: str, target: str, args: list[str]) -> Job:
        """Run ``faceswap --workspace W --device D ARGS`` (argument list, never a shell)."""
        folder = self.workspace.ensure(self.folder)
        with self._lock:
            job_id = max(self._jobs, default=0) + 1
            stem = f"job-{int(time.time())}-{job_id}-{kind}"
            log, status = folder / f"{stem}.log", folder / f"{stem}.status.json"
            command = [self.python, "-m", "faceswap.ui.jobrun", str(status), "--workspace", str(self.workspace.root),
                       "--device", self.device, *args]
            env = {**os.environ, "TQDM_MININTERVAL": "0.25", "PYTHONUNBUFFERED": "1"}
            with open(log, "wb") as out:
                # a session of its own: a Ctrl-C meant for the server does not reach the job
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           env=env, start_new_session=True)
            job = Job(job_id, kind, target, args, log, status, process.pid, process)
            self._jobs[job_id] = job
            self._save()
            return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def running(self, kind: str, target: str) -> Job | None:
        """The live job of this kind on this target, if any (one writer per face set or model)."""
        for job in list(self._jobs.values()):
            if job.kind == kind and job.target == target and job.alive():
                return job
        return None

    def stop(self, job_id: int) -> bool:
        job = self._jobs.get(job_id)
        if job is None or not job.alive():
            return False
        with self._lock:
            job.stop_requested = True
            if job.process is not None:
                job.process.send_signal(signal.SIGTERM)
            else:
                os.kill(job.pid, signal.SIGTERM)
            self._save()
        return True

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            before = {job.id: (job.exit_code, job.lost) for job in self._jobs.values()}
            rows = [job.to_json() for job in sorted(self._jobs.values(), key=lambda j: -j.id)]
            if any((job.exit_code, job.lost) != before[job.id] for job in self._jobs.values()):
                self._save()             # a job ended since the last look: keep its exit status
        return rows

    def shutdown(self, wait: float = 0.0) -> None:
        """Leave running jobs alone (they finish on their own); only reap the ones that ended."""
        for job in self._jobs.values():
            if job.process is not None and job.process.poll() is not None:
                job.process.wait(timeout=wait or None)
