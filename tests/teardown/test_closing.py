"""A close that may block in C runs in a daemon thread the caller abandons at its limit — sync or
from an event loop — and whatever it raises still reaches the caller."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from jobframe._teardown.closing import abounded_in_thread, bounded_in_thread


class Stuck:
    """A close that blocks until the test lets it go (as a flush in C would, for longer)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.calls = 0

    def close(self) -> None:
        self.calls += 1
        self.entered.set()
        self.release.wait(30)


def test_a_blocked_close_is_abandoned_at_its_limit_and_keeps_running_elsewhere() -> None:
    stuck = Stuck()
    started = time.monotonic()
    try:
        assert bounded_in_thread(stuck.close, 0.2) is False
        waited = time.monotonic() - started
        assert 0.2 <= waited < 2.0, waited
        assert stuck.entered.is_set() and stuck.calls == 1
        worker = next(t for t in threading.enumerate() if t.name == "jobframe-close")
        assert worker.daemon, "an abandoned close never keeps the process alive"
    finally:
        stuck.release.set()


def test_the_async_twin_abandons_without_blocking_the_loop() -> None:
    stuck = Stuck()

    async def scenario() -> tuple[bool, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.get_running_loop().create_task(tick())
        try:
            returned = await abounded_in_thread(stuck.close, 0.2)
        finally:
            ticker.cancel()
        return returned, ticks

    try:
        returned, ticks = asyncio.run(scenario())
    finally:
        stuck.release.set()
    assert returned is False
    assert ticks >= 3, "the loop went on while the close was blocked"


def test_a_close_that_returns_or_raises_is_reported_as_such() -> None:
    assert bounded_in_thread(lambda: None, 5.0) is True
    assert asyncio.run(abounded_in_thread(lambda: None, 5.0)) is True

    def fail() -> None:
        raise OSError("broker gone")

    with pytest.raises(OSError, match="broker gone"):
        bounded_in_thread(fail, 5.0)
    with pytest.raises(OSError, match="broker gone"):
        asyncio.run(abounded_in_thread(fail, 5.0))
