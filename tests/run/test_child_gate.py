"""The child gate's rules, in-process: once shut, no thread but the closer starts a child; shutting
waits for a child being started; a pool's worker handler is told to stop.

The process-level promise (nothing of the session alive after the exit) is proved on real
processes by ``tests/lifecycle/test_children_at_exit.py``.
"""

from __future__ import annotations

import threading
from multiprocessing.pool import TERMINATE, ThreadPool
from typing import Any

import pytest

from jobframe._process import child_gate
from jobframe._process.child_gate import ChildGate, stop_pool_handlers


class ParkedError(Exception):
    """Raised instead of waiting for the exit, so a test sees where a thread would have stopped."""


@pytest.fixture(autouse=True)
def observable_park(monkeypatch: pytest.MonkeyPatch) -> None:
    def park() -> None:
        raise ParkedError

    monkeypatch.setattr(child_gate, "_wait_for_exit", park)


def _in_thread(func: Any) -> Any:
    """Run ``func`` in another thread; what it returned or raised."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(func())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return outcome[0]


def test_an_open_gate_lets_every_thread_start_a_child() -> None:
    gate = ChildGate()
    launch = gate._guarded(lambda: "started")
    assert launch() == "started"
    assert _in_thread(launch) == "started"


def test_a_shut_gate_stops_every_thread_but_the_closer() -> None:
    gate = ChildGate()
    calls: list[str] = []
    launch = gate._guarded(lambda: calls.append(threading.current_thread().name))
    gate.close(timeout=1.0)
    assert isinstance(_in_thread(launch), ParkedError)
    assert isinstance(_in_thread(gate._before), ParkedError), "an os.fork() from another thread waits too"
    assert calls == []
    launch()
    gate._before()  # the closer may still fork
    gate._after_in_parent()
    assert calls == [threading.current_thread().name]


def test_shutting_waits_for_a_child_being_started() -> None:
    gate = ChildGate()
    entered, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow_launcher() -> None:
        entered.set()
        release.wait(10)
        order.append("started")

    launcher = threading.Thread(target=gate._guarded(slow_launcher))
    launcher.start()
    assert entered.wait(10)
    closer = threading.Thread(target=lambda: (gate.close(timeout=10), order.append("closed")))
    closer.start()
    closer.join(0.2)  # bounded wait for what must not happen: close returning before the child exists
    assert closer.is_alive() and order == []
    release.set()
    closer.join(10)
    launcher.join(10)
    assert order == ["started", "closed"]


def test_shutting_waits_at_most_its_timeout() -> None:
    gate = ChildGate()
    gate._before()  # a fork that never reports back
    gate.close(timeout=0.05)
    assert gate.closed


def test_a_forked_child_has_an_open_gate() -> None:
    gate = ChildGate()
    gate.close(timeout=0.0)
    gate._reset()
    assert not gate.closed
    assert _in_thread(gate._guarded(lambda: "started")) == "started"


def test_a_pools_worker_handler_is_told_to_stop_replacing_workers() -> None:
    pool = ThreadPool(1)  # the same worker handler as a process pool's
    try:
        handler = pool._worker_handler  # type: ignore[attr-defined]
        assert stop_pool_handlers() >= 1
        assert handler._state == TERMINATE
        pool._change_notifier.put(None)  # type: ignore[attr-defined]  # wake it, as a dying worker does
        handler.join(10)
        assert not handler.is_alive(), "it ended instead of maintaining the pool"
    finally:
        pool.terminate()
