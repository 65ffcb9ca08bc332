"""The run's teardown tail (:class:`jobframe._run.run.Run`): ``job.finished`` logged once, the
observer told of the teardown's budget before the first close, everything closed and released —
the same for a sync and an async job; and the rescue of a sync run torn out of its tail, which
logs ``job.finished`` only if that had not happened and tells the observer of no teardown."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from dependency_injector import containers, providers
from structlog.testing import capture_logs

from jobframe._app.discovery import App
from jobframe._run import Run, RunOptions, prepare
from jobframe.exit_codes import ExitCode
from jobframe.observe import Observer

_events: list[str] = []


class _Recording(Observer):
    def closing(self, budget: float) -> None:
        _events.append(f"closing {budget > 0}")
        super().closing(budget)


def _resource() -> Iterator[str]:
    _events.append("open")
    yield "res"
    _events.append("close")


async def _aresource() -> AsyncIterator[str]:
    _events.append("open")
    yield "res"
    _events.append("close")


class _Torn(_Recording):
    """Raises ``SystemExit`` out of the teardown tail, before the first close: what a SIGTERM
    handler of the job's, installed over jobframe's, does when the signal lands there. (One
    raised by a close itself is that close failing: the test of it is below.)"""

    def closing(self, budget: float) -> None:
        super().closing(budget)
        raise SystemExit(0)


class SyncJob:
    def __init__(self, res: str) -> None:
        self.res = res

    def execute(self) -> str:
        _events.append("execute")
        return self.res


class TornJob(SyncJob):
    """Run with :class:`_Torn`: torn out of its teardown tail."""


class AsyncJob:
    def __init__(self, res: str) -> None:
        self.res = res

    async def execute(self) -> str:
        _events.append("execute")
        return self.res


class _Jobs(containers.DeclarativeContainer):
    sync_job = providers.Factory(SyncJob, res=providers.Resource(_resource))
    async_job = providers.Factory(AsyncJob, res=providers.Resource(_aresource))
    torn_job = providers.Factory(TornJob, res=providers.Resource(_resource))


def _run(job: str) -> tuple[Any, list[dict[str, Any]]]:
    _events.clear()
    observer = _Torn() if job == "TornJob" else _Recording()
    run = prepare(App.from_container(_Jobs), job, options=RunOptions(handle_signals=False, observer=observer))
    with capture_logs() as logs:
        result = run.execute()
    return result, logs


@pytest.mark.parametrize("job", ["SyncJob", "AsyncJob"])
def test_the_tail_logs_once_tells_the_observer_then_closes_and_releases(job: str) -> None:
    result, logs = _run(job)
    assert result.exit_code is ExitCode.SUCCEEDED and result.result == "res"
    assert _events == ["open", "execute", "closing True", "close"]
    finished = [line for line in logs if line["event"] == "job.finished"]
    assert len(finished) == 1 and finished[0]["exit_code"] == 0
    assert result.resources_closed == result.resources_opened != []


def test_a_sync_run_torn_out_of_its_tail_is_rescued_without_a_second_job_finished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rescued: list[BaseException] = []
    rescue = Run._rescue

    def spy(run: Run, exc: BaseException) -> None:
        rescued.append(exc)
        rescue(run, exc)

    monkeypatch.setattr(Run, "_rescue", spy)
    result, logs = _run("TornJob")
    assert [type(exc) for exc in rescued] == [SystemExit]
    # job.finished was logged by the tail before the close that tore it out: not again
    assert [line["event"] for line in logs].count("job.finished") == 1
    assert result.exit_code is ExitCode.SUCCEEDED
    assert _events.count("closing True") == 1  # the tail's; the rescue tells of no second teardown
    assert _events[-1] == "close" and result.resources_closed == result.resources_opened != []


class SecondSigint:
    """Sends itself SIGINT, and again while its cancellation unwinds: a person insisting."""

    def execute(self) -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            _wait_for_signal()
        except BaseException:
            os.kill(os.getpid(), signal.SIGINT)
            _wait_for_signal()


def _wait_for_signal() -> None:
    # the handler runs at the next instruction; the wait only bounds a test that would hang
    threading.Event().wait(5)


class _Insisting(containers.DeclarativeContainer):
    second_sigint = providers.Factory(SecondSigint)


def test_a_forced_exit_in_process_logs_job_finished_once() -> None:
    run = prepare(App.from_container(_Insisting), "SecondSigint", options=RunOptions())
    with capture_logs() as logs:
        result = run.execute()
    assert result.exit_code is ExitCode.SIGINT
    events = [line["event"] for line in logs]
    assert events.count("signal.received") == 2
    finished = [line for line in logs if line["event"] == "job.finished"]
    assert [line["exit_code"] for line in finished] == [130]


class _Unprintable:
    """A value whose ``repr`` raises: what a job may return, or carry in its exception."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


class _UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


class OddResultJob(SyncJob):
    def execute(self) -> Any:  # type: ignore[override]
        _events.append("execute")
        return {"value": _Unprintable()}


class AsyncOddResultJob(AsyncJob):
    async def execute(self) -> Any:  # type: ignore[override]
        _events.append("execute")
        return [_Unprintable()]


class OddErrorJob(SyncJob):
    def execute(self) -> str:
        _events.append("execute")
        raise _UnprintableError


class _Odd(containers.DeclarativeContainer):
    odd_result_job = providers.Factory(OddResultJob, res=providers.Resource(_resource))
    async_odd_result_job = providers.Factory(AsyncOddResultJob, res=providers.Resource(_aresource))
    odd_error_job = providers.Factory(OddErrorJob, res=providers.Resource(_resource))


@pytest.mark.parametrize(("job", "code"), [("OddResultJob", 0), ("AsyncOddResultJob", 0), ("OddErrorJob", 1)])
def test_job_finished_is_logged_even_when_the_outcome_cannot_be_shown(job: str, code: int) -> None:
    """A result or an error whose ``repr``/``str`` raises still gets its ``job.finished`` — with
    its code — and the run is torn down as any other (the line was lost, and with it the outcome)."""
    _events.clear()
    run = prepare(App.from_container(_Odd), job, options=RunOptions(handle_signals=False))
    with capture_logs() as logs:
        result = run.execute()
    assert result.exit_code == code
    finished = [line for line in logs if line["event"] == "job.finished"]
    assert [line["exit_code"] for line in finished] == [code], logs
    assert "RuntimeError" in str(finished[0].get("result", finished[0].get("error_message"))), finished
    assert _events[:2] == ["open", "execute"]
    assert result.resources_closed == result.resources_opened != []


class _CustomBase(BaseException):
    pass


_CLOSE_RAISES: dict[str, BaseException] = {
    "KeyboardInterrupt": KeyboardInterrupt(),
    "SystemExit": SystemExit(3),
    "_CustomBase": _CustomBase("close"),
}


def _first() -> Iterator[str]:
    try:
        yield "first"
    finally:
        _events.append("first closed")


def _raising_close(name: str) -> Iterator[str]:
    yield "second"
    raise _CLOSE_RAISES[name]


async def _araising_close(name: str) -> AsyncIterator[str]:
    yield "second"
    raise _CLOSE_RAISES[name]


class TwoResources:
    def __init__(self, first: str, second: str) -> None:
        self.first, self.second = first, second

    def execute(self) -> str:
        return self.second


class AsyncTwoResources(TwoResources):
    async def execute(self) -> str:  # type: ignore[override]
        return self.second


def _two(sync_second: Any, async_second: Any, name: str) -> type[containers.DeclarativeContainer]:
    """Jobs on ``first`` and a second resource, ``sync_second(name)`` / ``async_second(name)``."""

    class Jobs(containers.DeclarativeContainer):
        first = providers.Resource(_first)
        two_resources = providers.Factory(
            TwoResources, first=first, second=providers.Resource(sync_second, name)
        )
        async_two_resources = providers.Factory(
            AsyncTwoResources, first=first, second=providers.Resource(async_second, name)
        )

    return Jobs


@pytest.mark.parametrize("job", ["TwoResources", "AsyncTwoResources"])
@pytest.mark.parametrize("raising", list(_CLOSE_RAISES))
def test_a_close_raising_a_base_exception_is_named_and_the_others_still_close(job: str, raising: str) -> None:
    """``KeyboardInterrupt``, ``SystemExit(3)``, a ``BaseException`` of the job's own raised by a
    close: it does not change the job's code (docs/lifecycle.md), it is named like any failing close
    — never passed over in silence — and the resources opened before it still close."""
    _events.clear()
    app = App.from_container(_two(_raising_close, _araising_close, raising))
    run = prepare(app, job, options=RunOptions(handle_signals=False))
    with capture_logs() as logs:
        result = run.execute()
    assert result.exit_code is ExitCode.SUCCEEDED
    assert [line["exit_code"] for line in logs if line["event"] == "job.finished"] == [0]
    failed = [line for line in logs if line["event"] == "resource.close_failed"]
    assert [(line["resource"], line["error_type"]) for line in failed] == [
        (f"{_snake(job)}.second", raising)
    ], logs
    assert _events == ["first closed"]
    assert [line["resource"] for line in logs if line["event"] == "resource.closed"] == ["first"], logs


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


_INIT_RAISES: dict[str, tuple[BaseException, ExitCode]] = {
    "exit-0": (SystemExit(0), ExitCode.SUCCEEDED),
    "exit-3": (SystemExit(3), ExitCode.FAILED),
    "keyboard-interrupt": (KeyboardInterrupt(), ExitCode.SIGINT),
}


def _init_raising(name: str) -> Iterator[str]:
    raise _INIT_RAISES[name][0]
    yield "never"  # pragma: no cover - a generator resource


async def _ainit_raising(name: str) -> AsyncIterator[str]:
    raise _INIT_RAISES[name][0]
    yield "never"  # pragma: no cover - an async generator resource


@pytest.mark.parametrize("job", ["TwoResources", "AsyncTwoResources"])
@pytest.mark.parametrize("raising", list(_INIT_RAISES))
def test_a_resource_init_ending_the_job_gets_the_same_code_sync_or_async(job: str, raising: str) -> None:
    """``sys.exit(n)`` or ``KeyboardInterrupt`` from a resource's init is the job ending itself, as
    from ``execute`` (README: 0 / 1 / 130) — whether the resource is sync or async (an async one's
    came out as a configuration error, 78)."""
    _events.clear()
    app = App.from_container(_two(_init_raising, _ainit_raising, raising))
    run = prepare(app, job, options=RunOptions(handle_signals=False))
    with capture_logs() as logs:
        result = run.execute()
    code = _INIT_RAISES[raising][1]
    assert result.exit_code is code
    assert [line["exit_code"] for line in logs if line["event"] == "job.finished"] == [int(code)], logs
    assert _events == ["first closed"]


_TASK_RAISES: dict[str, tuple[BaseException, ExitCode]] = {
    "exit-0": (SystemExit(0), ExitCode.SUCCEEDED),
    "exit-3": (SystemExit(3), ExitCode.FAILED),
    "keyboard-interrupt": (KeyboardInterrupt(), ExitCode.SIGINT),
}


class TaskEndsTheJob:
    """Starts a task that ends the job (``sys.exit``, ``KeyboardInterrupt``) and waits long."""

    def __init__(self, res: str) -> None:
        self.res = res

    async def execute(self) -> str:
        async def side() -> None:
            await asyncio.sleep(0)
            raise _TASK_RAISES[_task_raises[0]][0]

        _background.append(asyncio.ensure_future(side()))
        await asyncio.sleep(30)
        _events.append("outlived the exit")
        return self.res


_task_raises: list[str] = []
_background: list[asyncio.Future[None]] = []


class _Tasks(containers.DeclarativeContainer):
    task_ends_the_job = providers.Factory(TaskEndsTheJob, res=providers.Resource(_aresource))


@pytest.mark.parametrize("raising", list(_TASK_RAISES))
def test_sys_exit_in_a_task_of_the_job_ends_the_job_with_its_code(raising: str) -> None:
    """In ``asyncio.run`` a ``SystemExit``/``KeyboardInterrupt`` raised by any task ends the
    program; under jobframe it ends the job — cancelled, torn down, with the code of a job ending
    itself (0 / 1 / 130) — never ignored while the job runs on and succeeds."""
    _events.clear()
    _task_raises[:] = [raising]
    run = prepare(App.from_container(_Tasks), "TaskEndsTheJob", options=RunOptions(handle_signals=False))
    with capture_logs() as logs:
        result = run.execute()
    code = _TASK_RAISES[raising][1]
    assert result.exit_code is code
    (finished,) = [line for line in logs if line["event"] == "job.finished"]
    assert finished["exit_code"] == int(code), logs
    assert "reason" not in finished, "no signal came: the job ended itself"
    assert "outlived the exit" not in _events
    assert result.duration_s < 10, "ended by the task's exit, not by the job's wait"
    assert result.resources_closed == result.resources_opened != []


def _init_unprintable(name: str) -> Iterator[str]:
    raise _UnprintableError
    yield name  # pragma: no cover - a generator resource


async def _ainit_unprintable(name: str) -> AsyncIterator[str]:
    raise _UnprintableError
    yield name  # pragma: no cover - an async generator resource


def _init_base(name: str) -> Iterator[str]:
    raise _CustomBase("init")
    yield name  # pragma: no cover - a generator resource


async def _ainit_base(name: str) -> AsyncIterator[str]:
    raise _CustomBase("init")
    yield name  # pragma: no cover - an async generator resource


_BUILD_FAILURES = {
    "unprintable": (_init_unprintable, _ainit_unprintable, "_UnprintableError: <unprintable _Unprintable"),
    "own-base-exception": (_init_base, _ainit_base, "_CustomBase: init ("),
}


@pytest.mark.parametrize("job", ["TwoResources", "AsyncTwoResources"])
@pytest.mark.parametrize("failure", list(_BUILD_FAILURES))
def test_a_build_failure_is_a_configuration_error_whatever_it_raises(job: str, failure: str) -> None:
    """A resource's init raising an error whose ``str`` raises is a failure building the job (78),
    not the error of showing it (it was 1, ``RuntimeError``, the job's own error lost); so is one
    raising a ``BaseException`` of its own, neither an exit nor a cancellation (README), sync or
    async (a sync one's was the job's error, 1; an async one's was dropped by dependency-injector's
    callbacks, which catch ``Exception`` only, and the build waited for ever)."""
    init, ainit, shown = _BUILD_FAILURES[failure]
    _events.clear()
    app = App.from_container(_two(init, ainit, "second"))
    run = prepare(app, job, options=RunOptions(handle_signals=False))
    with capture_logs() as logs:
        result = run.execute()
    assert result.exit_code is ExitCode.CONFIG
    (finished,) = [line for line in logs if line["event"] == "job.finished"]
    assert finished["error_type"] == "jobframe.errors.ConfigurationError", finished
    assert finished["error_message"].startswith(f"cannot build job {job}: {shown}"), finished
    assert _events == ["first closed"]


class AwaitsItsTask:
    async def execute(self) -> str:
        async def side() -> None:
            raise _CustomBase("side")

        try:
            await asyncio.ensure_future(side())
        except _CustomBase as exc:
            return f"got {exc}"
        return "nothing"  # pragma: no cover


class _AwaitsItsTask(containers.DeclarativeContainer):
    awaits_its_task = providers.Factory(AwaitsItsTask)


def test_a_job_awaiting_its_own_task_gets_a_base_exception_as_it_was_raised() -> None:
    """Only a build carries a library's ``BaseException`` out of its task: in the job's own tasks
    asyncio's rules stand, and whoever awaits the task gets the exception itself."""
    run = prepare(
        App.from_container(_AwaitsItsTask), "AwaitsItsTask", options=RunOptions(handle_signals=False)
    )
    with capture_logs() as logs:
        result = run.execute()
    assert result.exit_code is ExitCode.SUCCEEDED
    (finished,) = [line for line in logs if line["event"] == "job.finished"]
    assert finished["result"] == "got side", finished
