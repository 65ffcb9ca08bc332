"""``LineHandler`` on a pipe nobody reads: a line takes ``STALLED_S`` at most however long it is,
then lines are dropped (counted) until the reader is back, and the first line after says how many
were lost; a line cut short is finished with a newline before the next one.
The process-level promise is ``tests/lifecycle/test_outputs.py``."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import platform
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jobframe._log_stream as stream_module
from jobframe._log_stream import LineHandler


@pytest.fixture
def full_pipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, io.TextIOWrapper]]:
    """A pipe filled to the brim, and a stream on its write end (blocking, as stdout is)."""
    monkeypatch.setattr(stream_module, "STALLED_S", 0.2)
    read, write = os.pipe()
    os.set_blocking(write, False)
    try:
        while True:
            os.write(write, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(write, True)
    stream = io.TextIOWrapper(open(write, "wb", buffering=0), encoding="utf-8", line_buffering=True)  # noqa: SIM115
    try:
        yield read, stream
    finally:
        stream.close()
        os.close(read)


def _record(text: str) -> logging.LogRecord:
    return logging.LogRecord("acme", logging.INFO, __file__, 1, text, None, None)


def test_a_full_pipe_costs_one_wait_then_lines_are_dropped_at_once(
    full_pipe: tuple[int, io.TextIOWrapper],
) -> None:
    _, stream = full_pipe
    handler = LineHandler(stream)
    started = time.monotonic()
    handler.handle(_record("first"))  # waits for room, at most STALLED_S
    for n in range(100):
        handler.handle(_record(f"then {n}"))  # the stream is still full: no wait at all
    took = time.monotonic() - started
    assert handler.dropped == 101
    assert 0.2 <= took < 0.2 + 5.0  # one wait, not 101 (generous: a loaded machine)


def test_once_the_reader_is_back_lines_are_written_again(full_pipe: tuple[int, io.TextIOWrapper]) -> None:
    read, stream = full_pipe
    handler = LineHandler(stream)
    handler.handle(_record("lost"))
    assert handler.dropped == 1
    while _readable(read):  # the reader is back: it drains the pipe
        os.read(read, 65536)
    handler.handle(_record("back"))
    assert handler.dropped == 0
    assert b"back" in os.read(read, 65536)


def _readable(fd: int) -> bool:
    import select  # noqa: PLC0415

    return bool(select.select([fd], [], [], 0)[0])


SIZES = [10_000, 100_000, 1_000_000]
"""Lines of 10 KB, 100 KB and 1 MB: each well past a pipe's page (PIPE_BUF), the last two past
a whole pipe (64 KiB by default)."""


@pytest.fixture
def unread_pipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, io.TextIOWrapper]]:
    """An empty pipe nobody reads yet, and a stream on its write end (blocking, as stdout is)."""
    monkeypatch.setattr(stream_module, "STALLED_S", 0.2)
    read, write = os.pipe()
    stream = io.TextIOWrapper(open(write, "wb", buffering=0), encoding="utf-8", line_buffering=True)  # noqa: SIM115
    try:
        yield read, stream
    finally:
        stream.close()
        os.close(read)


def _long(n: int, size: int) -> str:
    return json.dumps({"n": n, "padding": "x" * size})


def _log_past_the_pipe(handler: LineHandler, read: int, size: int) -> tuple[int, float]:
    """Log lines of ``size`` enough to fill the pipe three times; how many, and the slowest call."""
    count, slowest = 3 * _pipe_size(read) // size + 2, 0.0
    for n in range(count):
        started = time.monotonic()
        handler.handle(_record(_long(n, size)))
        slowest = max(slowest, time.monotonic() - started)
    return count, slowest


def _drain(fd: int) -> bytes:
    got = b""
    while _readable(fd):
        got += os.read(fd, 65536)
    return got


@pytest.mark.parametrize("size", SIZES)
def test_a_long_line_on_a_pipe_nobody_reads_waits_stalled_s_at_most(
    unread_pipe: tuple[int, io.TextIOWrapper], size: int
) -> None:
    # before: a line past a pipe's page blocked part-way for ever once the pipe filled
    read, stream = unread_pipe
    handler = LineHandler(stream)
    count, slowest = _log_past_the_pipe(handler, read, size)
    assert slowest < 0.2 + 5.0  # STALLED_S at most, however long the line (generous: a loaded machine)
    *whole, tail = _drain(read).split(b"\n")
    assert [json.loads(line) for line in whole] == [json.loads(_long(n, size)) for n in range(len(whole))]
    assert handler.dropped == count - len(whole)  # a line cut short counts as dropped
    assert _long(len(whole), size).encode().startswith(tail)  # the rest: the next line, cut short


@pytest.mark.parametrize("size", SIZES)
def test_a_line_cut_short_is_finished_before_the_next_one_once_the_reader_is_back(
    unread_pipe: tuple[int, io.TextIOWrapper], size: int
) -> None:
    read, stream = unread_pipe
    handler = LineHandler(stream)
    _log_past_the_pipe(handler, read, size)
    written = _drain(read)  # the reader is back
    cut = not written.endswith(b"\n")
    handler.handle(_record("back"))
    assert handler.dropped == 0
    after = _drain(read)
    # never glued: the cut line ends where it was cut, and "back" is a line of its own
    assert after == (b"\nback\n" if cut else b"back\n")
    lines = (written + after).split(b"\n")
    assert lines[-2:] == [b"back", b""]


def test_a_line_logged_by_a_signal_handler_mid_line_is_written_on_a_line_of_its_own(
    unread_pipe: tuple[int, io.TextIOWrapper], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a signal handler's line (the deadline's, process.exit) lands between two pieces of a long
    # line: it is written at once (the process may end right after it), never into the middle of
    # the long line, which is cut short there and counted
    read, stream = unread_pipe
    handler = LineHandler(stream)
    long_line, polls = _long(0, 100_000), 0
    has_room = stream_module.has_room

    def poll_then_interrupt(fd: int, wait: float, *poll: Any) -> bool:
        nonlocal polls
        polls += 1
        if polls == 3:  # the second piece of the long line: the "signal handler" logs
            handler.handle(_record("deadline.reached"))
        return has_room(fd, wait, *poll)

    monkeypatch.setattr(stream_module, "has_room", poll_then_interrupt)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(_read_to_end(read)))
    reader.start()
    handler.handle(_record(long_line))
    assert handler.dropped == 1
    handler.handle(_record("after"))
    stream.close()
    reader.join(10)
    first_piece = long_line.encode()[: stream_module.PIPE_BUF]
    assert b"".join(got) == first_piece + b"\ndeadline.reached\nafter\n"


class _Cancelled(BaseException):
    """What jobframe's SIGTERM handler raises into the job, right after logging ``signal.received``."""


_SYS_WRITE = {"x86_64": 1, "aarch64": 64}.get(platform.machine())


def _blocked_in_write(tid: int, fd: int) -> bool:
    """Whether thread ``tid`` of this process is inside ``write(fd, ...)`` (the kernel says)."""
    try:
        fields = Path(f"/proc/self/task/{tid}/syscall").read_text().split()
    except OSError:
        return False
    return fields[:2] == [str(_SYS_WRITE), hex(fd)]


@pytest.mark.skipif(_SYS_WRITE is None, reason="write's syscall number is known for x86_64 and aarch64")
def test_a_signal_landing_as_a_write_returns_neither_drops_nor_cuts_the_written_line(
    full_pipe: tuple[int, io.TextIOWrapper], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SIGTERM sent to the group the moment a line was read (a test waiting for "ready", an
    # operator) is taken by any thread; the main thread runs the handler as the write that sent
    # the line returns: it logs signal.received and raises. The write's count was lost with the
    # exception, so the whole line, already in the pipe, was counted as dropped (log.lines_dropped:
    # "the log's stream was full") and taken for cut short: an empty line, no JSON, came first.
    # Held here: the pipe polled writable, then filled (another writer), so the write waits in the
    # kernel while another thread takes the signal, and returns once the pipe is drained.
    read, stream = full_pipe
    monkeypatch.setattr(stream_module, "has_room", lambda *args: True)
    handler = LineHandler(stream)
    main, fd, got = threading.get_native_id(), stream.fileno(), bytearray()

    def take_the_signal_then_drain() -> None:
        give_up = time.monotonic() + 30
        while not _blocked_in_write(main, fd):  # no event says "blocked in the kernel": ask it
            if time.monotonic() > give_up:  # never waits for ever: the write is drained anyway
                break
            time.sleep(0.001)
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # its C handler runs here, now
        got.extend(_drain(read))

    def on_signal(signum: int, frame: Any) -> None:
        handler.handle(_record("signal.received"))
        raise _Cancelled

    previous = signal.signal(signal.SIGUSR1, on_signal)
    taker = threading.Thread(target=take_the_signal_then_drain)
    try:
        taker.start()
        with pytest.raises(_Cancelled):
            handler.handle(_record("ready"))
    finally:
        taker.join(10)
        signal.signal(signal.SIGUSR1, previous)
    handler.handle(_record("after"))
    got.extend(_drain(read))
    assert got.lstrip(b"x") == b"ready\nsignal.received\nafter\n"
    assert handler.dropped == 0


@pytest.mark.parametrize("raises", [True, False], ids=["logs-and-raises", "logs"])
def test_a_signal_landing_as_a_line_is_written_neither_drops_it_nor_leaves_an_empty_line(
    unread_pipe: tuple[int, io.TextIOWrapper], raises: bool
) -> None:
    # the signal is delivered by the write itself (SIGIO on the read end: O_ASYNC), so its Python
    # handler runs the moment the write returns -- where a SIGTERM sent by a supervisor that
    # reacted to the line lands. The line is whole in the pipe: it is not dropped, not counted,
    # and the handler's own line is not preceded by the newline owed to a line cut short.
    import fcntl  # noqa: PLC0415
    import signal  # noqa: PLC0415

    read, stream = unread_pipe
    handler = LineHandler(stream)
    fired: list[int] = []

    def on_sigio(signum: int, frame: object) -> None:
        if fired:
            return
        fired.append(signum)
        handler.handle(_record("signal.received"))
        if raises:
            raise _Cancelled

    previous = signal.signal(signal.SIGIO, on_sigio)
    fcntl.fcntl(read, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(read, fcntl.F_SETFL, fcntl.fcntl(read, fcntl.F_GETFL) | os.O_ASYNC)
    try:
        with contextlib.suppress(_Cancelled):
            handler.handle(_record("job.started"))
    finally:
        fcntl.fcntl(read, fcntl.F_SETFL, fcntl.fcntl(read, fcntl.F_GETFL) & ~os.O_ASYNC)
        signal.signal(signal.SIGIO, previous)
    assert fired
    handler.handle(_record("after"))
    stream.close()
    assert _read_to_end(read) == b"job.started\nsignal.received\nafter\n"
    assert handler.dropped == 0


def _pipe_size(fd: int) -> int:
    import fcntl  # noqa: PLC0415

    return fcntl.fcntl(fd, 1032)  # F_GETPIPE_SZ


def _read_to_end(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_flushing_on_a_full_pipe_never_waits(full_pipe: tuple[int, io.TextIOWrapper]) -> None:
    # the end of the process flushes every handler: the job's print() output still in the stream's
    # buffer must not hold it on a pipe nobody reads
    read, stream = full_pipe
    handler = LineHandler(stream)
    stream.write("printed, no newline yet")
    handler.flush()  # returns at once: nothing is written to a full pipe
    assert _drain(read) != b""  # the reader is back
    handler.flush()
    assert _drain(read) == b"printed, no newline yet"


def test_a_pipe_that_polls_writable_but_refuses_every_write_never_holds_a_line_past_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # another process sharing the pipe set O_NONBLOCK, and every piece comes back EAGAIN
    monkeypatch.setattr(stream_module, "STALLED_S", 0.2)
    read, write = os.pipe()
    stream = io.TextIOWrapper(open(write, "wb", buffering=0), encoding="utf-8", line_buffering=True)  # noqa: SIM115
    try:
        handler = LineHandler(stream)

        def refused(fd: int, data: Any) -> int:
            raise BlockingIOError

        monkeypatch.setattr(stream_module.os, "write", refused)
        started = time.monotonic()
        handler.handle(_record("x" * 10_000))
        took = time.monotonic() - started
        assert took < 0.2 + 5.0  # generous: a loaded machine; without the bound it never returns
        assert handler.dropped == 1
    finally:
        monkeypatch.undo()
        stream.close()
        os.close(read)
