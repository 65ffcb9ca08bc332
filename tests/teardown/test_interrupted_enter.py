"""A signal's exception that lands once a resource's ``__enter__`` has acquired it — after the
generator yielded, or in jobframe's wrapper right after a C ``__enter__`` returned — still leaves
the resource to be closed: it is open, though dependency-injector never got its value."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from dependency_injector import containers, providers

from jobframe._teardown.registry import ResourceRegistry
from jobframe.errors import JobInterrupted


def _interrupted() -> JobInterrupted:
    return JobInterrupted("SIGTERM", 143)


def _build(make: Any) -> tuple[ResourceRegistry, Any]:
    class Container(containers.DeclarativeContainer):
        res = providers.Resource(make)

    container = Container()
    registry = ResourceRegistry()
    registry.instrument(container)
    return registry, container


def _log_generator(log: list[str], *, fail_before_yield: BaseException | None = None) -> Iterator[str]:
    log.append("open")
    try:
        if fail_before_yield is not None:
            raise fail_before_yield
        yield "value"
    finally:
        log.append("close")


def test_a_generator_that_yielded_before_the_signal_landed_is_closed() -> None:
    log: list[str] = []

    def make() -> Any:
        manager = contextlib.contextmanager(_log_generator)(log)
        enter = manager.__enter__

        def enter_then_signal() -> Any:  # the signal lands in contextlib's __enter__, after next()
            enter()
            raise _interrupted()

        manager.__enter__ = enter_then_signal  # type: ignore[method-assign]
        return manager

    registry, container = _build(make)
    with pytest.raises(JobInterrupted):
        container.res()
    assert log == ["open"]
    registry.close_all(_interrupted())
    assert log == ["open", "close"], "the generator held its resource past teardown"
    assert registry.closed_names == ["res"]


def test_a_generator_the_signal_stopped_before_its_yield_closed_itself_and_is_not_closed_again() -> None:
    log: list[str] = []
    registry, container = _build(
        lambda: contextlib.contextmanager(_log_generator)(log, fail_before_yield=_interrupted())
    )
    with pytest.raises(JobInterrupted):
        container.res()
    registry.close_all(_interrupted())
    assert log == ["open", "close"] and registry.closed_names == []


class _CEnter:
    """A context manager whose ``__enter__`` is C code (here: sending the process SIGUSR1, whose
    handler raises as jobframe's does): the handler runs in the caller's frame once it returned."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.__enter__ = functools.partial(os.kill, os.getpid(), signal.SIGUSR1)

    def __exit__(self, *exc_info: Any) -> None:
        self.log.append("exit")


def test_a_signal_right_after_a_c_enter_returned_leaves_it_to_be_exited() -> None:
    log: list[str] = []

    def raise_interrupted(signum: int, frame: Any) -> None:
        raise _interrupted()

    previous = signal.signal(signal.SIGUSR1, raise_interrupted)
    try:
        registry, container = _build(lambda: _CEnter(log))
        with pytest.raises(JobInterrupted):
            container.res()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    registry.close_all(_interrupted())
    assert log == ["exit"] and registry.closed_names == ["res"]


def test_an_enter_that_fails_by_itself_is_never_exited() -> None:
    log: list[str] = []

    class Failing:
        def __enter__(self) -> None:
            raise _interrupted()  # raised inside __enter__: nothing was acquired

        def __exit__(self, *exc_info: Any) -> None:
            log.append("exit")

    registry, container = _build(Failing)
    with pytest.raises(JobInterrupted):
        container.res()
    registry.close_all(_interrupted())
    assert log == [] and registry.closed_names == []
