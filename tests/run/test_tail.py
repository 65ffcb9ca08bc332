"""Where the run's teardown tail differs by who finishes it, pinned (:class:`jobframe._run.run.Run`).

The main thread's tail (``finish``/``afinish``) waits for its claim, logs ``job.finished``, tells
the observer of the teardown, starts the supervisor's takeover timer, closes and releases — and
parks when the supervisor took the run over meanwhile. The rescue of a sync run torn out of the
tail, and the supervisor's takeover of a job that ignores its cancellation, use the same two
halves but are watched by no one: no observer told, no takeover timer; the takeover claims the
teardown for itself, releases nothing and ends the process instead.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest
from dependency_injector import containers, providers
from structlog.testing import capture_logs

from jobframe._app.discovery import App
from jobframe._run import Run, RunOptions, prepare
from jobframe._run.interrupts import Interrupts
from jobframe._run.timers import Claimant, Stage
from jobframe.errors import JobInterrupted
from jobframe.exit_codes import ExitCode
from jobframe.observe import Observer

_events: list[str] = []


class _Recording(Observer):
    def closing(self, budget: float) -> None:
        _events.append("closing")
        super().closing(budget)


def _resource() -> Iterator[str]:
    _events.append("open")
    try:
        yield "res"
    finally:
        _events.append("close")


class Job:
    def __init__(self, res: str) -> None:
        self.res = res

    def execute(self) -> str:
        return self.res


class AsyncJob(Job):
    async def execute(self) -> str:  # type: ignore[override]
        return self.res


class _Jobs(containers.DeclarativeContainer):
    job = providers.Factory(Job, res=providers.Resource(_resource))
    async_job = providers.Factory(AsyncJob, res=providers.Resource(_resource))


class _ProcessEnded(Exception):  # noqa: N818 - it stands for the end, not an error
    """What the fake process raises instead of ending."""


class _Process:
    def __init__(self) -> None:
        self.finished: list[int] = []

    def record_outcome(self, code: int, failure: BaseException | None = None) -> None:
        pass

    def keep_deadline(self, at: float | None) -> None:
        pass

    def exit_now(self, code: int, **fields: Any) -> None:
        raise AssertionError("not expected")

    def finish(self, code: int, finished_at: float) -> NoReturn:
        self.finished.append(code)
        raise _ProcessEnded


class _Parked(BaseException):
    """Raised instead of waiting forever for the supervisor."""


@pytest.fixture
def parked(monkeypatch: pytest.MonkeyPatch) -> None:
    def park() -> NoReturn:
        _events.append("park")
        raise _Parked

    for module in ("jobframe._run.run", "jobframe._run.drivers"):
        monkeypatch.setattr(f"{module}.park", park, raising=False)


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The takeover timer's starts and stops, as the tail asks for them."""
    calls: list[str] = []
    monkeypatch.setattr(Interrupts, "start_teardown", lambda self, budget: calls.append("start"))
    monkeypatch.setattr(Interrupts, "end_teardown", lambda self: calls.append("end"))
    return calls


def _prepare(job: str = "Job", process: _Process | None = None) -> Run:
    _events.clear()
    options = RunOptions(handle_signals=False, observer=_Recording(), process=process)
    return prepare(App.from_container(_Jobs), job, options=options)


def _built(process: _Process | None = None) -> Run:
    """A run whose job is built (its resource open) and still running."""
    run = _prepare(process=process)
    run.registry.instrument(run.container)
    run.build()
    assert _events == ["open"]
    return run


def _cancel(run: Run) -> None:
    """SIGTERM, as jobframe's handler takes it: the run is cancelling."""
    with pytest.raises(JobInterrupted):
        run.interrupts._on_signal(signal.SIGTERM, None)


def _finished(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == "job.finished"]


def test_the_main_threads_tail_is_watched_and_released(timers: list[str]) -> None:
    run = _built()
    claimed = run.interrupts.job_done()
    with capture_logs() as logs:
        run.finish(claimed)
    assert claimed and _events == ["open", "closing", "close"]
    assert timers == ["start", "end"]
    assert len(_finished(logs)) == 1 and run.code is ExitCode.SUCCEEDED
    assert run.registry._container is None  # released


def test_the_main_thread_parks_before_the_tail_when_the_supervisor_claimed_it(
    parked: None, timers: list[str]
) -> None:
    run = _built()
    with capture_logs() as logs, pytest.raises(_Parked):
        run.finish(False)
    assert _events == ["open", "park"] and timers == [] and _finished(logs) == []


def test_the_main_thread_parks_after_closing_when_the_supervisor_took_over_meanwhile(
    parked: None, timers: list[str]
) -> None:
    run = _built()
    run.registry.taken_over = True
    with capture_logs() as logs, pytest.raises(_Parked):
        run.finish(run.interrupts.job_done())
    assert _events == ["open", "closing", "close", "park"]
    assert timers == ["start", "end"] and len(_finished(logs)) == 1
    assert run.registry._container is not None  # not released: the supervisor ends the process


def test_an_async_run_the_supervisor_claimed_parks_before_its_outcome(
    parked: None, timers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Interrupts, "job_done", lambda self: False)
    run = _prepare("AsyncJob")
    with capture_logs() as logs, pytest.raises(_Parked):
        run.execute()
    assert _events == ["open", "park"] and timers == [] and _finished(logs) == []
    assert run.result is None and run.code is None


def test_a_sync_run_torn_out_before_its_tail_is_rescued_unwatched(
    timers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def torn(run: Run) -> None:
        raise SystemExit(3)  # a handler of the job's, as the job ended

    monkeypatch.setattr(Run, "leave_if_forked", torn)
    run = _prepare()
    with capture_logs() as logs:
        result = run.execute()
    finished = _finished(logs)
    assert len(finished) == 1 and finished[0]["exit_code"] == ExitCode.FAILED
    assert result.exit_code is ExitCode.FAILED and isinstance(result.error, SystemExit)
    assert _events == ["open", "close"]  # the observer is told of no teardown
    assert timers == []  # and no takeover timer watches the rescue's closes
    assert run.registry._container is None  # released


def test_the_supervisor_takes_a_cancelled_job_over_unwatched_and_ends_the_process(
    timers: list[str],
) -> None:
    process = _Process()
    run = _built(process)
    _cancel(run)
    with capture_logs() as logs, pytest.raises(_ProcessEnded):
        run.take_over(Stage.CANCEL)
    events = [line["event"] for line in logs]
    assert events.index("job.cancel_ignored") < events.index("job.finished") < events.index("resource.closed")
    assert _finished(logs)[0]["exit_code"] == ExitCode.SIGTERM == run.code
    assert process.finished == [ExitCode.SIGTERM]
    assert _events == ["open", "close"] and timers == []  # no observer told, no takeover timer
    assert run.registry.taken_over and run.registry._container is not None  # nothing released
    assert not run.interrupts.claim_teardown(Claimant.JOB)  # the teardown was the supervisor's


def test_the_supervisor_leaves_a_job_that_claimed_its_teardown_first(timers: list[str]) -> None:
    process = _Process()
    run = _built(process)
    _cancel(run)
    assert run.interrupts.job_done()
    with capture_logs() as logs:
        run.take_over(Stage.CANCEL)
    assert _finished(logs) == [] and process.finished == [] and _events == ["open"]


def test_the_supervisor_finishes_a_stuck_teardown_with_the_code_already_logged(
    timers: list[str],
) -> None:
    process = _Process()
    run = _built(process)
    run.interrupts.job_done()
    with capture_logs():
        run.log_finished(None)
    with capture_logs() as logs, pytest.raises(_ProcessEnded):
        run.take_over(Stage.TEARDOWN)
    assert _finished(logs) == [] and process.finished == [ExitCode.SUCCEEDED]
    assert _events == ["open", "close"] and timers == [] and run.registry.taken_over


def test_in_process_a_stuck_teardown_is_not_taken_over(timers: list[str]) -> None:
    run = _built()
    run.interrupts.job_done()
    with capture_logs():
        run.log_finished(None)
        run.take_over(Stage.TEARDOWN)
    assert _events == ["open"] and not run.registry.taken_over


@pytest.fixture(autouse=True)
def _no_leftover_handlers() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM), sys.unraisablehook
    yield
    assert (signal.getsignal(signal.SIGTERM), sys.unraisablehook) == before
