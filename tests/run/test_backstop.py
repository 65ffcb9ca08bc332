"""The kernel timer behind the supervisor (``jobframe/_run/backstop.py``): it sends its signal to
the thread it was made for, at the time last armed plus the slack, then every slack again until
armed anew (the supervisor, once it runs, re-arms it). In-process, main thread;
the promise it keeps is in ``tests/lifecycle/test_deadlines.py`` (C code that holds the GIL)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jobframe._run.backstop import SLACK_S, Backstop
from jobframe._run.supervisor import Supervisor
from jobframe._run.timers import CloseTimer

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="POSIX timers: Linux")

SIGNAL = signal.SIGRTMIN + 5  # spare: neither jobframe's nor the test runner's


@pytest.fixture
def arrivals() -> Iterator[list[tuple[float, int]]]:
    got: list[tuple[float, int]] = []

    def on_signal(signum: int, frame: Any) -> None:
        got.append((time.monotonic(), threading.get_native_id()))

    before = signal.signal(SIGNAL, on_signal)
    try:
        yield got
    finally:
        signal.signal(SIGNAL, before)


def _wait(got: list[Any], count: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < end:
        time.sleep(0.005)  # the handler runs in this thread between the sleeps


def test_it_fires_at_the_armed_time_in_the_thread_it_was_made_for_until_armed_again(
    arrivals: list[Any],
) -> None:
    backstop = Backstop(SIGNAL, threading.get_native_id())
    try:
        when = time.monotonic() + 0.05
        backstop.arm(when)
        _wait(arrivals, 3)  # repeated: the supervisor has not re-armed it
        backstop.arm(None)
        count = len(arrivals)
    finally:
        backstop.close()
    assert count >= 3
    assert arrivals[0][0] >= when + SLACK_S
    assert arrivals[2][0] >= when + 3 * SLACK_S
    assert {thread for _, thread in arrivals} == {threading.get_native_id()}


def test_arming_again_replaces_the_time(arrivals: list[Any]) -> None:
    backstop = Backstop(SIGNAL, threading.get_native_id())
    try:
        backstop.arm(time.monotonic() + 0.05)
        later = time.monotonic() + 0.3
        backstop.arm(later)
        _wait(arrivals, 1)
        backstop.arm(None)
    finally:
        backstop.close()
    assert arrivals[0][0] >= later + SLACK_S


def test_without_a_thread_or_once_closed_it_does_nothing(arrivals: list[Any]) -> None:
    Backstop(SIGNAL, None).arm(time.monotonic())
    closed = Backstop(SIGNAL, threading.get_native_id())
    closed.close()
    closed.arm(time.monotonic())
    probe = Backstop(SIGNAL, threading.get_native_id())  # one that does fire, after them
    try:
        probe.arm(time.monotonic() + 0.1)
        _wait(arrivals, 1)
        probe.arm(None)
    finally:
        probe.close()
    assert len(arrivals) == 1  # the probe's only


def test_a_supervisor_that_is_not_running_arms_no_timer() -> None:
    # its signal's handler is the run's: a timer left armed after the run would end the process
    # (a unit test driving _due by hand was killed by the real-time signal's default action)
    supervisor = Supervisor(lambda name: None, lambda signum: None)
    try:
        supervisor.at(CloseTimer(1), 0.0)
        due, _ = supervisor._due()
        assert due == [CloseTimer(1)]
        assert supervisor._backstop is None
    finally:
        supervisor.close_fds()
