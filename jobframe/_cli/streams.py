"""Standard streams that the caller closed (``jobframe --list >&-``): replaced, never crashed on.

With file descriptor 1 or 2 closed, Python sets ``sys.stdout``/``sys.stderr`` to ``None`` and the
next file opened takes the free descriptor, so a child process writing to "stdout" would write
into that file. The free descriptor is filled before anything else is opened: a closed stdout
gets stderr (log lines are not lost), a closed stderr gets stdout (error lines are not lost), and
with both closed both go to ``/dev/null``. The exit code means the same either way.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

__all__ = ["repair_std_streams", "write_stdout"]


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _text(fd: int) -> io.TextIOWrapper:
    raw = open(fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 - lives as long as the process
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", line_buffering=True)


def repair_std_streams() -> None:
    """Give descriptors 0-2 something to point at and ``sys.stdout``/``sys.stderr`` a stream."""
    if not _is_open(0):
        fd = os.open(os.devnull, os.O_RDONLY)
        if fd != 0:
            os.dup2(fd, 0)
            os.close(fd)
    out_open, err_open = _is_open(1), _is_open(2)
    for fd, other_open, other in ((1, err_open, 2), (2, out_open, 1)):
        if _is_open(fd):
            continue
        if other_open:
            os.dup2(other, fd)
        else:
            null = os.open(os.devnull, os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    with contextlib.suppress(ValueError, OSError):
        if sys.stdout is None or sys.stdout.closed:
            sys.stdout = _text(1)
        if sys.stderr is None or sys.stderr.closed:
            sys.stderr = _text(2)


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout; a reader that went away (``jobframe new acme | head -2``) had what
    it wanted: no ``BrokenPipeError`` traceback, now or when the interpreter flushes at exit."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
