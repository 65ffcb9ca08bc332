"""The earliest signal handlers, installed by ``python -m jobframe`` before anything else loads.

Until logging is configured there is no pipeline to log through, so a SIGTERM or SIGINT here writes
one JSON ``process.exit`` line itself and ends the process with the documented code (143/130):
never the default action's silent death (-15), and never ignored (which is what the kernel does
to an unhandled SIGTERM sent to PID 1). Standard library only (and the exit-code enum), so it is
in place within milliseconds of the interpreter starting.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from types import FrameType

from jobframe._process.exit_line import EXIT_EVENT, exit_line
from jobframe.exit_codes import ExitCode  # an enum, nothing more: cheap this early

__all__ = ["install_startup_handlers", "process_started_at", "write_exit_line"]


def write_exit_line(code: int, **fields: object) -> None:
    """One raw JSON ``process.exit`` line on stdout, for an end that logging cannot write."""
    level, described = exit_line(code, **fields)
    line = {
        "event": EXIT_EVENT,
        **described,
        "level": level,
        "logger": "jobframe",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        + f".{int(time.time() % 1 * 1e6):06d}Z",
    }
    with contextlib.suppress(OSError):  # stdout closed: the exit code still says it
        os.write(1, (json.dumps(line, default=str) + "\n").encode())


def _on_signal(signum: int, frame: FrameType | None) -> None:
    code = int(ExitCode.for_signal(signum))
    write_exit_line(code, signal=signal.Signals(signum).name, phase="startup")
    os._exit(code)


_real_signal = signal.signal
"""Taken at import, before any run guards the module attribute (``jobframe._run.signal_guard``)."""


def install_startup_handlers() -> None:
    """SIGTERM → 143, SIGINT → 130, each with one JSON ``process.exit`` line (phase ``startup``)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        _real_signal(sig, _on_signal)


def process_started_at() -> float:
    """When this process was started (``time.time()`` scale), read from ``/proc/self/stat``.

    ``--timeout`` counts from here, not from the moment the imports are done: the kubelet's
    ``activeDeadlineSeconds`` clock was already running while the interpreter started. Falls back
    to now where ``/proc`` or ``CLOCK_BOOTTIME`` is missing.
    """
    now = time.time()
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22 of stat(5), counted from field 3 after the name
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    return now - min(max(age, 0.0), 60.0)  # a bogus reading never moves the deadline by more than a minute
