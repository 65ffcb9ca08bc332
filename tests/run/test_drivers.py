"""The drivers (:mod:`jobframe._run.drivers`) wait for the job and say how it ended — they decide
nothing: seen through a bare :class:`~jobframe._run.drivers.RunView` (no outcome, no registry to
write), each way a job can end comes back as one :class:`~jobframe._run.drivers.Ended`."""

from __future__ import annotations

import ast
import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from jobframe._run import drivers
from jobframe._run.drivers import Ended, How
from jobframe._run.interrupts import Interrupts
from jobframe.deadline import Budget, Schedule
from jobframe.errors import ConfigurationError, JobInterrupted
from jobframe.exit_codes import ExitCode


@dataclass
class View:
    """A run as a driver sees it, and nothing more."""

    job: Any
    name: str = "Fake"
    params: Any = None
    origin: float = 0.0
    interrupts: Interrupts = field(
        default_factory=lambda: Interrupts(Schedule(None, Budget(cancel_grace=0.05)), origin=0.0)
    )
    abandoned: list[asyncio.Task[Any]] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    @property
    def context(self) -> Any:
        return SimpleNamespace(observer=SimpleNamespace(phase=self.phases.append))

    def install_interrupts(self) -> None:
        self.calls.append("install")

    def log_started(self) -> None:
        self.calls.append("started")

    def build(self) -> Any:
        self.calls.append("build")
        return self.job

    async def abuild(self) -> Any:
        return self.build()


class _Sync:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def execute(self) -> Any:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def test_a_sync_job_that_returns_is_reported_with_its_result() -> None:
    view = View(_Sync({"sent": 3}))
    assert drivers.drive_sync(view) == Ended(How.RETURNED, result={"sent": 3})
    assert view.calls == ["started", "build"] and view.phases == ["execute"]


@pytest.mark.parametrize(
    ("raised", "reported"),
    [
        (ValueError("boom"), ValueError),
        (JobInterrupted("SIGTERM", ExitCode.SIGTERM), JobInterrupted),
        (SystemExit(3), SystemExit),
        (KeyboardInterrupt(), KeyboardInterrupt),
        (SystemExit(0), type(None)),  # sys.exit(0): ended itself successfully, no error
    ],
)
def test_a_sync_job_that_raises_is_reported_with_its_error(raised: BaseException, reported: type) -> None:
    ended = drivers.drive_sync(View(_Sync(raised)))
    assert ended.how is How.RAISED and type(ended.error) is reported and ended.result is None


def test_a_sync_execute_built_from_an_async_resource_is_a_configuration_error() -> None:
    async def awaitable() -> None:
        pass

    ended = drivers.drive_sync(View(awaitable()))
    assert ended.how is How.RAISED and isinstance(ended.error, ConfigurationError)


def _drive_async(view: View) -> Ended:
    """``drive_async`` on a loop of its own, the way a run drives it."""
    ended: list[Ended] = []

    async def main() -> None:
        ended.append(await drivers.drive_async(view))
        if ended[0].task is not None:
            view.abandoned.append(ended[0].task)

    drivers.run_in_new_loop(view, main)
    return ended[0]


class _Async:
    def __init__(self, how: str) -> None:
        self.how = how

    async def execute(self, interrupts: Interrupts) -> Any:
        if self.how == "return":
            return "done"
        if self.how == "raise":
            raise ValueError("boom")
        if self.how == "exit":
            raise SystemExit(0)
        interrupts.escaped(KeyboardInterrupt())  # cancels this task, as a SIGINT would
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            if self.how == "cancelled":
                raise
        await asyncio.sleep(30)  # "ignore": past the grace
        return "never"


def _async_view(how: str) -> View:
    view = View(None)
    view.job = SimpleNamespace(execute=lambda: _Async(how).execute(view.interrupts))
    return view


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("return", Ended(How.RETURNED, result="done")),
        ("exit", Ended(How.RAISED, error=None)),  # sys.exit(0) in a task: no error either
    ],
)
def test_an_async_job_that_ends_by_itself_is_reported_as_it_ended(how: str, expected: Ended) -> None:
    view = _async_view(how)
    assert _drive_async(view) == expected
    assert view.calls == ["install", "started", "build"]  # the job's task runs once all is in place


def test_an_async_job_that_raises_is_reported_with_its_error() -> None:
    ended = _drive_async(_async_view("raise"))
    assert ended.how is How.RAISED and isinstance(ended.error, ValueError)


def test_a_cancelled_async_job_is_reported_cancelled_for_the_run_to_name_why() -> None:
    view = _async_view("cancelled")
    ended = _drive_async(view)
    # what escaped the loop stands for the error; the run prefers its cancellation's reason
    assert ended.how is How.CANCELLED and isinstance(ended.error, KeyboardInterrupt)
    assert view.interrupts.reason is not None and view.interrupts.reason.exit_code is ExitCode.SIGINT


def test_an_async_job_ignoring_its_cancellation_is_abandoned_with_its_task() -> None:
    view = _async_view("ignore")
    ended = _drive_async(view)
    assert ended.how is How.ABANDONED and ended.task is not None and ended.error is None
    assert ended.task.cancelled() or ended.task.done()  # cancelled again when the loop ended


def test_the_drivers_never_import_the_run() -> None:
    source = Path(drivers.__file__).read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert "jobframe._run.run" not in imported and "jobframe._teardown.registry" not in imported
    assert not {"jobframe._run.run", "jobframe._teardown.registry"} & {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    }


def test_the_reason_is_read_only_outside_interrupts() -> None:
    interrupts = Interrupts(Schedule(None))
    with pytest.raises(AttributeError):
        interrupts.reason = JobInterrupted("SIGTERM", ExitCode.SIGTERM)  # type: ignore[misc]
