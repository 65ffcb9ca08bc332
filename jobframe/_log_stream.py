"""The log's stream handler: lines written to stdout, never holding the process on a pipe nobody
reads.

A container's stdout is a pipe to its runtime or a log collector. A reader that stops leaves the
pipe full, and a plain blocking write then holds the job — in its own call, in the deadline's
signal handler, under the lock every other thread's line waits for — past its end. Here a line
gets :data:`STALLED_S` at most, however long it is; then lines are dropped and counted
(``log.lines_dropped``) until the reader is back. How lines are rendered is
:mod:`jobframe.logs`'s concern; this module only writes them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import select
import stat
import time
from typing import TextIO

import structlog

__all__ = ["PIPE_BUF", "STALLED_S", "LineHandler", "has_room", "takes_line_now"]

STALLED_S = 1.0
"""How long a line may take in all on a stream nobody reads (a pipe whose reader stopped), waits for
room included, whatever its length; a line not written by then is dropped (or cut short), and while
the stream stays full the lines after it are dropped at once."""

PIPE_BUF = select.PIPE_BUF
"""The most a write to a pipe that polled writable always takes whole, without waiting (POSIX:
at least 512 bytes; 4096 on Linux). A longer line is written in pieces of this size."""


def has_room(fd: int, wait: float, poll: select.poll | None = None) -> bool:
    """Whether ``fd`` takes a write within ``wait`` seconds (a full pipe does not); a descriptor
    that cannot be asked is let through, for the write to say what is wrong. ``poll``: one
    already watching ``fd`` for room (a handler asks for every piece it writes)."""
    try:
        if poll is None:
            poll = select.poll()  # not select(): a job's handler may write to a descriptor past 1023
            poll.register(fd, select.POLLOUT)
        return bool(poll.poll(math.ceil(max(wait, 0.0) * 1000)))
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
    the lock every other thread's line waits for — and the process never ended. On a pipe or a
    socket a line now gets :data:`STALLED_S` in all: it is written to the descriptor in pieces of
    :data:`PIPE_BUF` bytes, each only once the descriptor polls writable within what is left of
    that time (a pipe that polls writable has room for one such piece), so no write waits for the
    reader. A line with no room by then is dropped whole, and so is every line after it at once
    while the stream stays full. A line the stall cut short part-way is counted as dropped too; it
    is finished with a newline before any other byte is written, so the next line starts on its
    own (a collector reading JSON lines gets one unreadable line, never two glued together). The
    first line written once the reader is back is ``log.lines_dropped`` (``lines``). A line a
    signal handler logs between two pieces of another (the deadline's, ``process.exit``, after
    which the process may end at once) is written then, on a line of its own: the other is cut
    short there. Output the job printed that still waits in the stream's buffer is written first,
    in order.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._fd: int | None = None
        self._stalled = False
        self._cut = False
        """A line was cut short by a stall: a newline is owed before the next byte."""
        self._open = False
        """A line's pieces are being written: a line logged meanwhile (by a signal handler) ends it,
        if part of it is in the pipe (:attr:`_line`)."""
        self._line: tuple[list[int], int] = ([], 0)
        """The line being written: the bytes of each piece the pipe took, and its length."""
        self._abandoned = False
        self.dropped = 0
        """Lines not written (or cut short) since the stream last took one (it was full)."""
        with contextlib.suppress(AttributeError, OSError, ValueError):
            self._fd = stream.fileno()
        self._watch(self._fd)

    def _watch(self, fd: int | None) -> None:
        """Write to ``fd`` from now on, with a poll for room kept for it (one per piece written)."""
        self._fd, self._pipe, self._poll = fd, fd is not None and _is_pipe(fd), select.poll()
        if fd is not None and self._pipe:
            self._poll.register(fd, select.POLLOUT)

    def emit(self, record: logging.LogRecord) -> None:
        if self._fd is not None and self._gone():
            self.stream = self._reopened()
        if self._fd is None or not self._pipe:
            super().emit(record)  # a terminal, a file: its lines wait, as ever
            return
        try:
            line = self._encoded(self.format(record) + self.terminator)
        except Exception:  # noqa: BLE001 - as StreamHandler.emit: the logging call never raises
            self.handleError(record)
            return
        if self._open and 0 < sum(self._line[0]) < self._line[1]:
            # a signal handler's line (the deadline's, process.exit) in the middle of another's
            # pieces: written now — the process may end right after it — so that line is cut
            # short here, and finished with the newline it is owed first. One whole in the pipe,
            # or not begun, is no line cut short: this one simply comes after it, or before.
            self._open, self._abandoned, self._cut = False, True, True
        self._write(self._fd, line)

    def _write(self, fd: int, line: bytes) -> None:
        """Write ``line`` to the pipe ``fd`` within :data:`STALLED_S`, or drop it (or cut it short)."""
        by = time.monotonic() + STALLED_S
        wait = 0.0 if self._stalled else STALLED_S  # once stalled, no wait
        self._stalled = not has_room(fd, wait, self._poll)
        if self._stalled:
            self.dropped += 1
            return
        try:
            if self._cut:  # there is room for a piece: the newline owed fits
                os.write(fd, b"\n")
                self._cut = False
            if self.dropped:
                lines, self.dropped = self.dropped, 0
                structlog.get_logger("jobframe").warning(  # through this handler: its own line
                    "log.lines_dropped", lines=lines, reason="the log's stream was full"
                )
                if self._stalled:  # that line found no room either: say it later, with this one
                    self.dropped = lines + 1
                    return
        except OSError:  # a reader gone for good (EPIPE): nothing to write to
            self.dropped += 1
            return
        # the job's print() output first, in order (no contextlib.suppress: it costs every line)
        try:  # noqa: SIM105
            self.stream.flush()
        except Exception:  # noqa: BLE001, S110 - a broken stream: the write below tells
            pass
        self._pieces(fd, line, by)

    def _pieces(self, fd: int, line: bytes, by: float) -> None:
        """Each piece once ``fd`` has room for it, while there is time; a line left part-way is
        cut short (a newline is owed) and the stream is taken as stalled."""
        view, sent = memoryview(line), 0
        ended_another, self._abandoned = self._abandoned, False  # a signal's line ended the outer one
        written: list[int] = []
        outer, self._line = self._line, (written, len(line))
        try:
            while sent < len(line):
                if not has_room(fd, by - time.monotonic(), self._poll):
                    self._stalled = True
                    break
                self._open = True  # from here on, bytes of this line may be in the pipe
                if self._abandoned:  # a signal handler's line ended it (while this waited)
                    break
                try:
                    # the write and its record are one C call: a signal handler runs the moment
                    # the write returns (a SIGTERM sent on reading this very line lands there),
                    # and finds the piece counted, never a whole line taken for one cut short
                    written.extend(map(os.write, (fd,), (view[sent : sent + PIPE_BUF],)))
                    sent = sum(written)
                except BlockingIOError:  # O_NONBLOCK set by another process sharing the pipe
                    if time.monotonic() >= by:  # room polled but never taken: never spin past the bound
                        self._stalled = True
                        break
                    continue
                except OSError:  # a reader gone for good (EPIPE)
                    break
        finally:
            self._open, self._line = False, outer
            sent = sum(written)  # a piece the pipe took before an exception is counted too
            if sent < len(line):  # out of time, or a signal's line or exception in the middle
                self.dropped += 1
                if not self._abandoned:  # else the signal's line took care of the newline
                    self._cut = self._cut or sent > 0
            self._abandoned = ended_another  # the outer line, if any, is not to go on

    def flush(self) -> None:
        """Flush the stream, never waiting on a full pipe (the end of the process flushes)."""
        if self._fd is None or not self._pipe:
            super().flush()
            return
        if not has_room(self._fd, 0.0, self._poll):
            return
        with self.lock if self.lock is not None else contextlib.nullcontext():
            if self._cut:
                with contextlib.suppress(OSError):
                    os.write(self._fd, b"\n")
                    self._cut = False
            with contextlib.suppress(Exception):
                self.stream.flush()

    def _encoded(self, text: str) -> bytes:
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        return text.encode(encoding, getattr(self.stream, "errors", None) or "strict")

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
            self._watch(fd)
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
