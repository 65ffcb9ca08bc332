"""One run's life, owned by one object: :class:`Run`, from instrumentation to release.

The schedule (when to cancel, how long a cancelled job may take to stop, how long teardown may
take) is computed once, when the run starts. The job runs in the main thread — sync, or as a task
on a fresh event loop — waited for by a driver (:mod:`jobframe._run.drivers`), which reports how
it ended (:class:`~jobframe._run.drivers.Ended`). The run alone takes that outcome, logs it once
(``job.finished``) and closes every resource, through one teardown tail in two halves
(``_before_close``, ``_after_close``). When the job leaves no other way — it ignores its
cancellation, or a close is stuck in C code — the supervisor thread takes the run over
(:meth:`Run.take_over`) through the same tail, unwatched, and in a CLI run ends the process.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import structlog
from dependency_injector import containers
from dependency_injector.errors import Error as DependencyInjectorError
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from jobframe._app.discovery import App, JobEntry
from jobframe._app.loading import where
from jobframe._run import drivers
from jobframe._run.close_timers import CloseTimers
from jobframe._run.drivers import Ended, How
from jobframe._run.forks import leave_if_forked
from jobframe._run.interrupts import Interrupts
from jobframe._run.options import RunOptions, RunResult
from jobframe._run.outcome import ENDINGS, EXITS, EscapedExit, as_error, exit_code
from jobframe._run.timers import Claimant, Stage, Timer
from jobframe._teardown.registry import ResourceRegistry
from jobframe.context import RunContext
from jobframe.deadline import Schedule
from jobframe.errors import ConfigurationError, JobframeError, JobInterrupted
from jobframe.exit_codes import ExitCode
from jobframe.files import write_json_atomic
from jobframe.logs import get_logger, reclaim_logging
from jobframe.stacks import stack_of_thread
from jobframe.summary import Limits, shown, summarize

__all__ = ["Run", "build_error", "park"]

_log = get_logger("jobframe")

RESULT_LIMITS = Limits(budget=2000)
"""``job.finished`` shows what the job returned, bounded: a glance, not the ``--output`` file."""


def build_error(job: str, exc: BaseException) -> BaseException:
    """Building the job's graph failed before ``execute`` ran: a configuration error (78) — a
    library's own ``BaseException`` too, sync or async — unless the error already says what it is
    (a :class:`~jobframe.JobframeError`, e.g. retryable), or is how the job ends (:data:`ENDINGS`):
    ``sys.exit``/``KeyboardInterrupt`` from an async resource's init, carried out of its task as
    :class:`EscapedExit`, gets the codes a sync one's gets (0, 1, 130)."""
    if isinstance(exc, EscapedExit) and not isinstance(exc.original, EXITS):
        exc = exc.original  # a library's own BaseException, carried out of a resource's task
    if isinstance(exc, (JobframeError, EscapedExit, *ENDINGS)):
        return exc
    if isinstance(exc, DependencyInjectorError):
        return ConfigurationError(f"cannot build job {job}: {shown(exc, str)}")
    return ConfigurationError(f"cannot build job {job}: {where(exc)}")


def park() -> NoReturn:
    """Wait forever: the supervisor thread owns the run now and ends the process."""
    while True:
        threading.Event().wait()


@dataclass
class Run:
    """One run of one job: build, execute, log the outcome once, close everything."""

    app: App
    entry: JobEntry
    params: BaseModel | None
    container: containers.Container
    context: RunContext
    options: RunOptions
    origin: float = field(default_factory=time.monotonic)
    registry: ResourceRegistry = field(default_factory=ResourceRegistry)
    result: Any = None
    error: BaseException | None = None
    finished_at: float = 0.0
    code: ExitCode | None = None
    abandoned: list[asyncio.Task[Any]] = field(default_factory=list)
    """Async: the job's task, if it ignored its cancellation and was left behind."""
    scrub: Callable[[str], str] | None = None
    """Masks known secrets in a string: applied to params and result before they are cut to size."""
    pid: int = field(default_factory=os.getpid)
    """The process that owns the run: a child it forks is not the run (:mod:`jobframe._run.forks`)."""

    def __post_init__(self) -> None:
        deadline = self.context.deadline
        self.schedule = Schedule(deadline.seconds_left() if deadline else None, self.options.budget)
        self.interrupts = Interrupts(
            self.schedule,
            origin=self.origin,
            process=self.options.process,
            on_takeover=self.take_over,
            outcome=lambda: self.code,
        )
        if self.options.process is not None:
            left = self.schedule.seconds_left
            self.options.process.keep_deadline(None if left is None else self.origin + left)

    @property
    def name(self) -> str:
        return self.entry.spec.name

    # -- the whole life ------------------------------------------------------------------------

    def execute(self) -> RunResult:
        """Run the job to its end and return what came of it; never exits the process itself
        (unless the supervisor has to take over a job that leaves no other way, in a CLI run)."""
        with structlog.contextvars.bound_contextvars(job=self.name, run_id=self.context.run_id):
            self.registry.instrument(self.container)
            try:
                if self.entry.spec.is_async:
                    drivers.run_in_new_loop(self, self._execute_async)
                else:
                    try:
                        self._execute_sync()
                    except BaseException as exc:  # noqa: BLE001 - see _rescue
                        self._rescue(exc)
            finally:
                self.interrupts.restore()
        return self.run_result()

    def _execute_sync(self) -> None:
        """The sync job in this thread: its outcome taken, the teardown claimed, the tail run."""
        self.install_interrupts()
        try:
            try:
                self._take(drivers.drive_sync(self))
            except BaseException as exc:  # noqa: BLE001 - a signal as the job ended, an unwritable --output
                self.fail(as_error(exc))
            self.leave_if_forked()
            claimed = self.interrupts.job_done()
        except JobInterrupted as late:  # a signal between the job's end and job_done()
            self.fail(late)
            claimed = self.interrupts.job_done()
        self.finish(claimed)

    async def _execute_async(self) -> None:
        """The async job on the run's loop: the teardown claimed (or this thread parks), then the
        outcome taken — a signal a job's own handler took counts — and the tail run."""
        ended = await drivers.drive_async(self)
        if ended.task is not None:
            self.abandoned.append(ended.task)
        self.leave_if_forked()
        if not self.interrupts.job_done():
            park()
        try:
            self._take(ended)
        except Exception as exc:  # noqa: BLE001 - e.g. an unserialisable result for --output
            self.fail(exc)
        await self.afinish()

    def _take(self, ended: Ended) -> None:
        """The outcome as the driver reported it; a job cancelled or abandoned stands for the
        run's cancellation."""
        if ended.how is How.RETURNED:
            self.succeed(ended.result)
        elif ended.how is How.RAISED:
            self.fail(ended.error)
        else:
            self.fail(self.interrupts.reason or ended.error)

    # -- the teardown tail: the one place a run is finished -------------------------------------

    # Every way a run is finished goes through the same two halves. The main thread's tail
    # (finish/afinish) is *watched*: the observer is told of the teardown and the supervisor's
    # takeover timer bounds it, and if the supervisor took over meanwhile this thread parks. The
    # rescue of a sync run torn out of it, and the supervisor's own takeover, are not: nothing
    # watches the watcher (tests/run/test_tail.py pins each difference).

    def finish(self, claimed: bool) -> None:
        """Sync: the job is over (``claimed``: the teardown is ours, not the supervisor's): log the
        outcome, close everything, release."""
        if not claimed:
            park()
        budget = self._before_close(self.error, watched=True)
        self.registry.close_all(self.error, budget=budget, timer=self._close_timer())
        self._after_close(watched=True)
        self.registry.release()

    async def afinish(self) -> None:
        """Async: :meth:`finish` inside the job's event loop (the caller parks if not claimed)."""
        budget = self._before_close(self.error, watched=True)
        await self.registry.aclose_all(self.error, budget=budget, timer=self._close_timer())
        self._after_close(watched=True)
        await self.registry.arelease()

    def _before_close(self, error: BaseException | None, *, watched: bool) -> float:
        """``job.finished`` unless it was logged already (a forced exit logs it first, and in-process
        the run goes on to this tail), then the teardown budget; watched, the observer is told of
        it and the supervisor's takeover timer started for a close stuck past it."""
        if self.code is None:
            self.log_finished(error)
        budget = self.teardown_budget()
        if watched:
            self.context.observer.closing(budget)
            self.interrupts.start_teardown(budget)
        return budget

    def _after_close(self, *, watched: bool) -> None:
        """Closed: watched, the takeover timer off — or, if the supervisor took over meanwhile, it
        ends the process and this thread waits for that."""
        if not watched:
            return
        self.interrupts.end_teardown()
        if self.registry.taken_over:
            park()

    def _end_process(self) -> None:
        """Supervisor: the exit guard, ``process.exit`` and the end (the tail's release, for a run
        taken over)."""
        assert self.options.process is not None and self.code is not None
        self.options.process.finish(int(self.code), self.finished_at)

    def _close_timer(self) -> CloseTimers | None:
        """What bounds each close: the run's clock, when this run handles signals."""
        return self.interrupts.close_timers if self.interrupts.installed else None

    def _rescue(self, exc: BaseException) -> None:
        """Finish a sync run that ``exc`` tore out of the driver or out of :meth:`finish`.

        Only a handler the job installed over jobframe's can do that (``SystemExit`` raised by a
        SIGTERM handler while the job was being finished): the signal still decides the outcome,
        and whatever is still open is closed. Unlike :meth:`finish` it does not wait for a claim
        (it claims if no one has) and runs the tail unwatched: ``job.finished`` only if that did
        not happen yet, no takeover timer; it closes what is still open within the budget left.
        """
        # signals accounted for (one a job's handler took becomes the reason), teardown claimed,
        # jobframe's handlers back
        self.interrupts.job_done()
        if self.code is None:
            self.fail(self.interrupts.foreign_reason() or as_error(exc))
        budget = self._before_close(self.error, watched=False)
        self.registry.close_all(self.error, budget=budget, timer=self._close_timer())
        self._after_close(watched=False)
        self.registry.release()

    def run_result(self) -> RunResult:
        registry = self.registry
        return RunResult(
            job=self.name,
            run_id=self.context.run_id,
            exit_code=self.code if self.code is not None else ExitCode.FAILED,
            started=True,
            result=self.result,
            error=self.error,
            duration_s=round(self.finished_at - self.origin, 6),
            finished_at=self.finished_at,
            resources_opened=registry.opened_names,
            resources_closed=list(registry.closed_names),
            resources_failed=list(registry.failed_names),
            resources_unmanaged=list(registry.unmanaged_names),
        )

    # -- steps shared by both modes ------------------------------------------------------------

    def leave_if_forked(self) -> None:
        """The job's code returned in a child it forked (a bare ``os.fork()``): end that child."""
        leave_if_forked(self.pid, self.error)

    def build(self) -> Any:
        """Call the job's Factory; a wiring gap found only now is still a configuration error."""
        self.context.observer.phase("build")
        try:
            return getattr(self.container, self.entry.provider_name)()
        except BaseException as exc:  # noqa: BLE001 - what is not an ending is a failure to build
            self._build_failed(exc)

    async def abuild(self) -> Any:
        """:meth:`build`, awaiting the job if an async resource makes it awaitable."""
        job = self.build()
        if not inspect.isawaitable(job):
            return job
        try:
            return await job
        except BaseException as exc:  # noqa: BLE001 - what is not an ending is a failure to build
            self._build_failed(exc)

    def _build_failed(self, exc: BaseException) -> NoReturn:
        error = build_error(self.name, exc)
        if error is exc:
            raise exc
        raise error from exc

    def fail(self, error: BaseException | None) -> None:
        """What the job ended with, as the driver saw it; the first error stays."""
        if self.error is None:
            self.error = error

    def succeed(self, result: Any) -> None:
        """The job returned: keep its result and write ``--output`` — unless it was cancelled."""
        if self.interrupts.reason is not None:
            return  # it returned after all, but the run was cancelled: not a success
        if self.options.output is not None:
            try:
                value = to_jsonable_python(result)
            except PydanticSerializationError as exc:
                raise TypeError(f"--output: the job's result is not JSON-serialisable: {exc}") from None
            write_json_atomic(self.options.output, value)
        self.result = result

    def teardown_budget(self) -> float:
        return (
            self.interrupts.teardown_budget() if self.interrupts.installed else self.options.shutdown_timeout
        )

    def install_interrupts(self) -> None:
        """Signal handlers and the schedule's clock, when this run handles signals."""
        if self.options.handle_signals:
            self.interrupts.install(is_async=self.entry.spec.is_async)

    def log_started(self) -> None:
        deadline = self.context.deadline
        schedule = self.schedule
        elapsed = time.monotonic() - self.origin
        cancel_in = None if schedule.cancel_at is None else round(schedule.cancel_at - elapsed, 3)
        params = self.params.model_dump(mode="json") if self.params is not None else {}
        _log.info(
            "job.started",
            params=summarize(params, scrub=self.scrub),
            deadline=deadline.at.isoformat().replace("+00:00", "Z") if deadline else None,
            deadline_source=deadline.source if deadline else None,
            seconds_left=None if schedule.seconds_left is None else round(schedule.seconds_left - elapsed, 3),
            cancel_in_s=cancel_in,
            **({} if self.context.shard.is_whole else {"shard": str(self.context.shard)}),
        )
        if deadline is not None and schedule.is_short(self.entry.spec.min_seconds):
            assert schedule.seconds_left is not None
            _log.warning(
                "deadline.short",
                seconds_left=round(schedule.seconds_left - elapsed, 3),
                cancel_in_s=cancel_in,
                min_seconds=self.entry.spec.min_seconds,
                deadline_margin=self.options.deadline_margin,
                margin_s=round(schedule.margin, 3),
                deadline_source=deadline.source,
            )

    def log_finished(self, error: BaseException | None) -> ExitCode:
        """Log ``job.finished`` once, with the one exit code this outcome means."""
        # the CLI owns the process's logging (an embedder its own): a job that configured logging
        # its own way gets jobframe's lines back first
        undone = reclaim_logging() if self.options.process is not None else []
        if undone:
            _log.warning(
                "logging.reconfigured",
                undone=undone,
                action="jobframe's handler, levels and loggers put back for its own lines; "
                "the job's handlers stay",
            )
        self.finished_at = time.monotonic()
        reason = self.interrupts.reason
        code = exit_code(error, reason)
        self.code = code
        if self.options.process is not None:
            self.options.process.record_outcome(int(code), error if code.status == "failed" else None)
        self.context.observer.finished(int(code), round(self.finished_at - self.origin, 6))
        summary = self.context.summary()
        if self.context.run_key is not None and self.context.run_key_claimed_by is None:
            _log.warning(
                "ledger.unused",
                run_key=self.context.run_key,
                reason="--run-key was given but no run ledger was opened: nothing was recorded, and a "
                "retry starts from the beginning (wire LedgerModule into the app: docs/resume.md)",
            )
        fields: dict[str, Any] = {
            "status": code.status,
            "exit_code": int(code),
            "duration_s": round(self.finished_at - self.origin, 6),
            **summary,
        }
        if code is ExitCode.SUCCEEDED:
            result = summarize(self.result, RESULT_LIMITS, scrub=self.scrub)
            _log.info("job.finished", result=result, **fields)
        elif reason is not None or isinstance(error, JobInterrupted):
            _log.warning("job.finished", reason=str(reason or error), **fields)
        else:
            assert error is not None
            _log.error(
                "job.finished",
                error_type=f"{type(error).__module__}.{type(error).__qualname__}",
                error_message=shown(error, str),
                exc_info=error,
                **fields,
            )
        return code

    # -- when the main thread leaves no other way ------------------------------------------------

    def take_over(self, stage: Stage) -> None:
        """Supervisor thread: finish a run the main thread cannot.

        :attr:`Stage.CANCEL`: the cancelled job ignored its cancellation past the grace — abandon it, close
        everything from here and end the process. :attr:`Stage.TEARDOWN`: a close is stuck past the
        teardown budget (in C code a signal cannot interrupt) — close the rest and end the process.
        Only a CLI run can end the process; in-process the job is interrupted again instead.
        :attr:`Stage.FORCE` (main thread, a second SIGINT): the process ends now; ``job.finished`` first.
        """
        process = self.options.process
        if stage is Stage.FORCE:
            if self.code is None:
                self.log_finished(self.interrupts.reason)
        elif stage is Stage.CANCEL:
            waited = time.monotonic() - (self.interrupts.cancelled_at or self.origin)
            where = stack_of_thread(threading.main_thread())
            if process is None:
                _log.error(
                    "job.cancel_ignored", waited_s=round(waited, 3), where=where, action="interrupting again"
                )
                self.interrupts.wake_main(Timer.RECANCEL)
                return
            if not self.interrupts.claim_teardown(Claimant.SUPERVISOR):
                return
            _log.error("job.cancel_ignored", waited_s=round(waited, 3), where=where, action="abandoned")
            error = self.interrupts.reason
            budget = self._before_close(error, watched=False)
            self.registry.take_over(error, budget=budget)
            self._after_close(watched=False)
            self._end_process()
        elif stage is Stage.TEARDOWN and process is not None and self.code is not None:
            self.registry.take_over(self.error, budget=0.0)  # the budget is spent
            self._after_close(watched=False)
            self._end_process()
