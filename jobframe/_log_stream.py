"""The log's stream handler: lines written to stdout, never holding the process on a pipe nobody
reads.

A container's stdout is a pipe to its runtime or a log collector. A reader that stops leaves the
pipe full, and a plain blocking write then holds the job — in its own call, in the deadline's
signal handler, under the lock every other thread's line waits for — past its end. Here a line
waits :data:`STALLED_S` at most for room, then lines are dropped and counted
(``log.lines_dropped``) until the reader is back. How lines are rendered is
:mod:`jobframe.logs`'s concern; this module only writes them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import select
import stat
from typing import TextIO

import structlog

__all__ = ["STALLED_S", "LineHandler", "has_room", "takes_line_now"]

STALLED_S = 1.0
"""How long a line waits for room in a stream nobody reads (a pipe whose reader stopped) before it
is dropped; while the stream stays full, the lines after it are dropped at once."""


def has_room(fd: int, wait: float) -> bool:
    """Whether ``fd`` takes a write within ``wait`` seconds (a full pipe does not); a descriptor
    that cannot be asked is let through, for the write to say what is wrong."""
    try:
        return bool(select.select([], [fd], [], wait)[1])
    except (OSError, ValueError):
        return True


def _is_pipe(fd: int) -> bool:
    """A pipe or a socket: where a reader can stop reading (a terminal paused by a person is not
    judged: its lines wait, as ever)."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class LineHandler(logging.StreamHandler[TextIO]):
    """The log's stream handler, which outlives a job that closes its stream, and never blocks the
    job on a stream nobody reads.

    Job code calling ``sys.stdout.close()`` closes the very object the handler writes to, and every
    later line — ``job.finished``, ``process.exit`` — was dropped without a word. A closed stream is
    replaced by a new one on its descriptor, which such a close leaves open; a descriptor closed too
    (``os.close(1)``) by stderr's, as for a process started with stdout closed.

    A stream whose reader stopped reading (a stalled log collector, a parent that never reads the
    pipe) blocked the write for ever — in the job's call, in the deadline's signal handler, under
    the lock every other thread's line waits for — and the process never ended. A line now waits
    :data:`STALLED_S` at most for room, then is dropped, and so is every line after it at once
    while the stream stays full; the first line written after that is ``log.lines_dropped``
    (``lines``). A line is dropped whole or written whole (one up to a pipe's page, 4 KiB, always
    fits once there is room; a longer one may still wait for the reader, and a signal ends that wait).
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._fd: int | None = None
        self._stalled = False
        self.dropped = 0
        """Lines not written since the stream last took one (it was full)."""
        with contextlib.suppress(AttributeError, OSError, ValueError):
            self._fd = stream.fileno()
        self._pipe = self._fd is not None and _is_pipe(self._fd)

    def emit(self, record: logging.LogRecord) -> None:
        if self._fd is not None and self._gone():
            self.stream = self._reopened()
        if self._fd is not None and self._pipe:
            self._stalled = not has_room(self._fd, 0.0 if self._stalled else STALLED_S)
            if self._stalled:
                self.dropped += 1
                return
            if self.dropped:
                lines, self.dropped = self.dropped, 0
                structlog.get_logger("jobframe").warning(
                    "log.lines_dropped", lines=lines, reason="the log's stream was full"
                )
        super().emit(record)

    def _gone(self) -> bool:
        if getattr(self.stream, "closed", False):
            return True
        try:
            os.fstat(self.stream.fileno())
        except (AttributeError, OSError, ValueError):
            return True
        return False

    def _reopened(self) -> TextIO:
        for fd in (self._fd, 2):
            if fd is None:
                continue
            try:
                os.fstat(fd)
            except OSError:
                continue
            self._fd, self._pipe = fd, _is_pipe(fd)
            raw = open(fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 - as long as the process
            return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", line_buffering=True)
        self._fd = None  # both closed: the exit code still says what happened
        return self.stream


def takes_line_now(handler: logging.Handler) -> bool:
    """Whether a stream handler of the job's, on a pipe, takes jobframe's line without waiting.

    One whose reader stopped would hold jobframe's lines for ever — the deadline's in its signal
    handler, teardown's, ``process.exit`` — as a full stdout did (:class:`LineHandler`, which
    waits for room itself). The job's own lines through it wait as the job chose; jobframe's are
    left out of it while the pipe is full.
    """
    if isinstance(handler, LineHandler) or not isinstance(handler, logging.StreamHandler):
        return True
    try:
        fd = handler.stream.fileno()
    except (AttributeError, OSError, ValueError):
        return True
    return not _is_pipe(fd) or has_room(fd, 0.0)
