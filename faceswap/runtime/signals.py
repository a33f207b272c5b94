"""Turn ``kill``, ``timeout``, ``docker stop`` and a closed terminal into the stop Ctrl-C gives.

SIGTERM and SIGHUP normally end Python on the spot, so training would lose everything since its
last save and a merge would leave its partial file. While a command runs they raise
StopRequested (a KeyboardInterrupt) in the main thread instead, so every ``finally`` and
``except KeyboardInterrupt`` that already handles Ctrl-C runs: training saves, merge cleans up.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class StopRequested(KeyboardInterrupt):
    """A termination signal arrived; ``reason`` is its name, e.g. "SIGTERM"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, SIGTERM/SIGHUP raise StopRequested once; repeats are ignored so the save can finish."""
    if threading.current_thread() is not threading.main_thread():
        yield                   # handlers can only be installed from the main thread
        return

    def handler(signum: int, _frame: object) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise StopRequested(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
