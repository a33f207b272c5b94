"""Run part of training on a new thread while this one waits, passing a stop request (Ctrl-C, SIGTERM) on.

Python delivers signals to the main thread only, so the waiting thread catches them and hands the
reason to ``on_stop_request``; the worker is expected to stop at its next check, not mid-step.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_in_new_thread(work: Callable[[], T], on_stop_request: Callable[[str], None]) -> T:
    """``work()`` on a thread of its own; its result, or its exception raised here."""
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:    # carried to the waiting thread, whatever it is
            outcome["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=target, name="faceswap-train", daemon=True)
    thread.start()
    # an Event, not Thread.join: a signal handler raising inside join marks a running thread
    # stopped in Python 3.11 (bpo-45274's fix releases the thread's own lock)
    while not finished.is_set():
        try:
            finished.wait(1.0)
        except KeyboardInterrupt as exc:    # runtime/signals.StopRequested is one too
            on_stop_request(getattr(exc, "reason", "interrupted"))
    thread.join()
    if "error" in outcome:
        raise outcome["error"]          # type: ignore[misc]
    return outcome["result"]            # type: ignore[return-value]
