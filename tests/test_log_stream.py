"""``LineHandler`` on a pipe nobody reads: a line waits ``STALLED_S`` at most, then lines are
dropped (counted) until the reader is back, and the first line after says how many were lost.
The process-level promise is ``tests/lifecycle/test_outputs.py``."""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Iterator

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
