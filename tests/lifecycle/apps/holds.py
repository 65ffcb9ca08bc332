"""Windows a test holds open: the app stops at one stage of the run until the test says go.

``HOSTILE_HOLD=STAGE`` names the stage and ``HOSTILE_GO`` a file: on reaching the stage the app
records ``hold STAGE`` (``$LIFECYCLE_RECORD``) and waits until the file exists, so a test can
deliver a signal at exactly that point, then create the file. Stages:

- ``install``: jobframe is installing its signal handlers (its supervisor thread is starting);
- ``handler``: inside a SIGTERM/SIGINT handler the job installed (shape ``holding_handler``);
- ``cancelling``: the job caught its cancellation and has not re-raised it yet (it logs
  ``app.ready`` inside its ``try`` first);
- ``closing``: inside a resource's close (``HOSTILE_CLOSE=hold``);
- ``exit_hooks``: inside an ``atexit`` hook, after teardown;
- ``flush``: inside a log handler's flush, after ``process.exit`` was written.

The wait polls the file every few milliseconds in Python code, so a signal handler runs during it
at once: the app holds the window, the test's signal lands inside it.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
from typing import Any

from lifeapp import record

__all__ = ["arm", "hold", "holding_handler"]


def stage() -> str:
    return os.environ.get("HOSTILE_HOLD", "")


def hold(name: str) -> None:
    """At stage ``name`` (when it is the one asked for): say so, then wait for the test's go."""
    if stage() != name:
        return
    record(f"hold {name}")
    go = os.environ["HOSTILE_GO"]
    while not os.path.exists(go):
        time.sleep(0.002)


def holding_handler(signum: int, frame: Any) -> None:
    """A handler of the job's own that takes its time (each call holds, nested calls too)."""
    hold("handler")


class _FlushHold(logging.Handler):
    """Holds in ``flush`` once ``process.exit`` went by: the very end of the process."""

    def __init__(self) -> None:
        super().__init__()
        self.exited = False

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict) and record.msg.get("event") == "process.exit":
            self.exited = True

    def flush(self) -> None:
        if self.exited:
            hold("flush")


def _hold_thread_start() -> None:
    start = threading.Thread.start

    def holding_start(self: threading.Thread) -> None:
        if self.name == "jobframe-supervisor":
            hold("install")
        start(self)

    threading.Thread.start = holding_start  # type: ignore[method-assign]


def arm() -> None:
    """Called when the app is imported (before the run): set up the stages that need it."""
    if stage() == "install":
        _hold_thread_start()
    elif stage() == "exit_hooks":
        atexit.register(hold, "exit_hooks")
    elif stage() == "flush":
        logging.getLogger().addHandler(_FlushHold())


def install_own(shape: str) -> None:
    if shape == "holding_handler":
        signal.signal(signal.SIGTERM, holding_handler)
        signal.signal(signal.SIGINT, holding_handler)
