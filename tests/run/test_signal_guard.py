"""``SignalGuard``'s view of what the kernel calls for SIGTERM: a C handler put in the
interpreter's place (faulthandler) is seen and the interpreter's put back. In-process, main thread;
the process-level promise is in tests/lifecycle/test_hostile.py."""

from __future__ import annotations

import faulthandler
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from jobframe._run.signal_guard import SignalGuard, c_handler, fault_register

REFERENCE = signal.SIGUSR2  # a signal whose handler is the interpreter's during the test


def _on_signal(signum: int, frame: Any) -> None:
    raise AssertionError("no signal is sent in these tests")


@pytest.fixture
def guard() -> Iterator[SignalGuard]:
    before = signal.signal(REFERENCE, _on_signal)
    held = SignalGuard(_on_signal, reference=REFERENCE)
    held.take()
    try:
        yield held
    finally:
        faulthandler.unregister(signal.SIGTERM)
        held.give_back()
        signal.signal(REFERENCE, before)


def test_every_signal_the_interpreter_handles_has_one_c_handler(guard: SignalGuard) -> None:
    assert c_handler(signal.SIGTERM) == c_handler(REFERENCE) != c_handler(signal.SIGKILL)
    assert not guard.replaced()


def test_faulthandler_put_in_the_interpreters_place_is_found_and_taken_back(guard: SignalGuard) -> None:
    fault_register(signal.SIGTERM)  # the real one, as through a reference taken before the run
    assert c_handler(signal.SIGTERM) != c_handler(REFERENCE)
    assert guard.replaced()

    guard.put_back()

    assert c_handler(signal.SIGTERM) == c_handler(REFERENCE)
    assert signal.getsignal(signal.SIGTERM) is _on_signal
    assert not guard.replaced()


def test_faulthandler_through_the_module_is_chained_and_not_taken_for_a_replacement(
    guard: SignalGuard,
) -> None:
    faulthandler.register(signal.SIGTERM)  # chain=False asked: registered chained
    dumping = c_handler(signal.SIGTERM)

    assert dumping != c_handler(REFERENCE)
    assert not guard.replaced()
    guard.give_back()
    assert faulthandler.register == fault_register
    assert c_handler(signal.SIGTERM) != dumping  # the handler from before the run is back


def test_other_signals_go_to_faulthandler_as_asked(guard: SignalGuard) -> None:
    faulthandler.register(signal.SIGUSR1)
    try:
        assert c_handler(signal.SIGUSR1) != c_handler(REFERENCE)
        assert not guard.replaced()
    finally:
        faulthandler.unregister(signal.SIGUSR1)
