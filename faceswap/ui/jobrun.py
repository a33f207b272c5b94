"""Run one faceswap command for the web app and record how it ended.

``python -m faceswap.ui.jobrun STATUS.json ARGS...`` runs ``faceswap ARGS`` in this very process
(the job's pid is the command's pid; the status file's path in its command line tells a later
server that this pid is still that job) and, however the command ends short of SIGKILL, writes
``{"exit": code, "ended": time}`` to STATUS.json atomically. A server restarted while the job ran
reads its exit status there, since only a parent can wait for a process.
"""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path


def _terminated(signum: int, _frame: object) -> None:
    # before the command installs its own clean-stop handler (and after it removes it)
    raise SystemExit(128 + signum)


def run(status: Path, args: list[str]) -> int:
    """Run ``faceswap ARGS``; returns its exit code after recording it in ``status``."""
    code = 1                                           # an exception we do not expect: a failure
    try:
        signal.signal(signal.SIGTERM, _terminated)
        from faceswap.cli.main import cli

        cli.main(args=args, prog_name="faceswap")      # click's standalone mode always ends in SystemExit
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    finally:
        from faceswap.atomic import write_json_atomic

        write_json_atomic(status, {"exit": code, "ended": time.time()})
    return code


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), sys.argv[2:]))
