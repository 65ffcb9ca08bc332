"""Drive a job in the main thread: a sync ``execute``, or an async one on an event loop of its own.

A driver only waits for the job and reports what came of it to the :class:`~jobframe._run.run.Run`
(:meth:`~jobframe._run.run.Run.succeed`, :meth:`~jobframe._run.run.Run.fail`); the run logs the
outcome and closes everything (its teardown tail, :meth:`~jobframe._run.run.Run.finish`). The two
differ only in how the job is waited for: a sync job is simply called (a cancellation raises
``JobInterrupted`` in it); an async job's task is awaited, and if it ignores its cancellation past
the grace it is abandoned right here while the loop is still free.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any

from jobframe._app.spec import call_execute
from jobframe._run.outcome import EscapedExit, as_error
from jobframe._run.run import Run, build_error, park
from jobframe.errors import ConfigurationError, JobInterrupted
from jobframe.exit_codes import ExitCode
from jobframe.logs import get_logger
from jobframe.stacks import stack_of_task

__all__ = ["drive_async", "drive_sync", "run_in_new_loop"]

_log = get_logger("jobframe")

CLEANUP_WAIT_S = 0.25
"""Tasks the job left behind get this long to finish after their cancellation, when the loop ends."""


# -- sync ------------------------------------------------------------------------------------------


def drive_sync(run: Run) -> None:
    interrupts = run.interrupts
    run.install_interrupts()
    try:
        try:
            run.log_started()
            job = run.build()
            if inspect.isawaitable(job):
                _discard(job)
                raise ConfigurationError(
                    f"job {run.name} has a sync execute() but depends on an async resource; "
                    "make execute async or provide a sync resource"
                )
            run.context.observer.phase("execute")
            run.succeed(call_execute(job, run.params))
        except BaseException as exc:  # noqa: BLE001 - every outcome is mapped to an exit code
            run.fail(as_error(exc))
        run.leave_if_forked()
        claimed = interrupts.job_done()
    except JobInterrupted as late:  # a signal between the job's end and job_done()
        run.fail(late)
        claimed = interrupts.job_done()
    run.finish(claimed)


# -- async -----------------------------------------------------------------------------------------


async def _build_and_execute(run: Run) -> Any:
    job = run.build()
    if inspect.isawaitable(job):
        try:
            job = await job
        except Exception as exc:
            error = build_error(run.name, exc)
            if error is exc:
                raise
            raise error from exc
    run.context.observer.phase("execute")
    return await call_execute(job, run.params)


async def drive_async(run: Run) -> ExitCode:
    loop = asyncio.get_running_loop()
    interrupts = run.interrupts
    task = loop.create_task(_build_and_execute(run), name=f"job:{run.name}")
    stopping = asyncio.Event()
    interrupts.bind_async(loop, task, stopping.set, driver=asyncio.current_task())
    run.install_interrupts()
    run.log_started()
    told = loop.create_task(stopping.wait(), name="jobframe:cancellation")
    await asyncio.wait([task, told], return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        await asyncio.wait([task], timeout=interrupts.grace_left())
    told.cancel()
    if not task.done():
        _abandon(run, task)
        run.abandoned.append(task)
    run.leave_if_forked()
    if not interrupts.job_done():
        park()
    _take_outcome(run, task)
    return await run.afinish()


def _abandon(run: Run, task: asyncio.Task[Any]) -> None:
    """The job ignored its cancellation past the grace: go on without it (it is cancelled again
    when the loop ends, and never waited for beyond :data:`CLEANUP_WAIT_S`)."""
    cancelled_at = run.interrupts.cancelled_at or run.origin
    _log.error(
        "job.cancel_ignored",
        waited_s=round(time.monotonic() - cancelled_at, 3),
        where=stack_of_task(task),
        action="abandoned",
    )


def _take_outcome(run: Run, task: asyncio.Task[Any]) -> None:
    reason = run.interrupts.reason
    if not task.done():
        run.fail(reason)
    elif task.cancelled():
        escaped = run.interrupts.escaped_error
        run.fail(reason or (as_error(escaped) if escaped is not None else asyncio.CancelledError()))
    elif task.exception() is not None:
        run.fail(as_error(task.exception()))
    else:
        try:
            run.succeed(task.result())
        except Exception as exc:  # noqa: BLE001 - e.g. an unserialisable result for --output
            run.fail(exc)


def _discard(awaitable: Any) -> None:
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    elif isinstance(awaitable, asyncio.Future):
        awaitable.cancel()


# -- the event loop --------------------------------------------------------------------------------


async def _contained(coro: Any) -> Any:
    try:
        return await coro
    except (SystemExit, KeyboardInterrupt) as exc:
        raise EscapedExit(exc) from exc


def _containing_exits(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    """Task factory: every task of the run (the job's, its children's, resource inits) turns
    ``SystemExit``/``KeyboardInterrupt`` into :class:`EscapedExit`, so none skips teardown."""
    return asyncio.Task(_contained(coro), loop=loop, **kwargs)


def run_in_new_loop(run: Run) -> Any:
    """Drive ``run`` like ``asyncio.run`` would, but without its waits, and to the end.

    ``asyncio.run`` joins executor threads still running blocking calls, which is exactly the kind
    of wait jobframe promises not to have; lingering threads are the exit guard's business. Tasks
    the job left running are cancelled and given :data:`CLEANUP_WAIT_S`, not more — a job task that
    was abandoned, none. An exception that escapes the loop itself (a signal handler of the job's
    raising ``SystemExit``) does not end the run: it is reported to the interrupts and the loop
    resumes, so the run still finishes and tears down.
    """
    loop = asyncio.new_event_loop()
    loop.set_task_factory(_containing_exits)
    try:
        driver = loop.create_task(drive_async(run), name="jobframe:run")
        while True:
            try:
                return loop.run_until_complete(driver)
            except BaseException as exc:
                if driver.done():
                    raise
                run.interrupts.escaped(exc)
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in run.abandoned:
                task.cancel()
            pending = [t for t in pending if t not in run.abandoned]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=CLEANUP_WAIT_S))
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), timeout=CLEANUP_WAIT_S))
        except Exception:  # noqa: BLE001,S110 - best effort: the job's outcome is already decided
            pass
        finally:
            loop.close()
