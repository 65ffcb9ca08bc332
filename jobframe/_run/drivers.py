"""Drive a job in the main thread: a sync ``execute``, or an async one on an event loop of its own.

A driver only waits for the job and says how it ended (:class:`Ended`: what it returned, what it
raised, or the task left behind); it sees the run through :class:`RunView` and decides nothing:
the :class:`~jobframe._run.run.Run` takes the outcome, logs it and closes everything (its teardown
tail). The two differ only in how the job is waited for: a sync job is simply called (a
cancellation raises ``JobInterrupted`` in it); an async job's task is awaited, and if it ignores
its cancellation past the grace it is abandoned right here while the loop is still free.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import functools
import inspect
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from jobframe._app.spec import call_execute
from jobframe._run.outcome import ENDINGS, EXITS, EscapedExit, as_error
from jobframe._value import Value
from jobframe.errors import ConfigurationError
from jobframe.logs import get_logger
from jobframe.stacks import stack_of_task

if TYPE_CHECKING:
    from pydantic import BaseModel

    from jobframe._run.interrupts import Interrupts
    from jobframe.context import RunContext

__all__ = ["Ended", "How", "RunView", "drive_async", "drive_sync", "run_in_new_loop"]

_log = get_logger("jobframe")

CLEANUP_WAIT_S = 0.25
"""Tasks the job left behind get this long to finish after their cancellation, when the loop ends."""


class RunView(Protocol):
    """What a driver sees of its run: the job to build and call, and the run's interrupts."""

    @property
    def name(self) -> str: ...

    @property
    def params(self) -> BaseModel | None: ...

    @property
    def context(self) -> RunContext: ...

    @property
    def origin(self) -> float: ...

    @property
    def interrupts(self) -> Interrupts: ...

    @property
    def abandoned(self) -> Sequence[asyncio.Task[Any]]: ...

    def install_interrupts(self) -> None: ...

    def log_started(self) -> None: ...

    def build(self) -> Any: ...

    async def abuild(self) -> Any: ...


class How(enum.Enum):
    """How the job ended, as its driver saw it."""

    RETURNED = "returned"
    RAISED = "raised"
    CANCELLED = "cancelled"
    """An async job's task ended cancelled: the run's cancellation (if any) stands for it."""
    ABANDONED = "abandoned"
    """An async job ignored its cancellation past the grace and was left behind."""


class Ended(Value):
    """What a driver reports: ``result`` if the job returned, ``error`` if it raised (``None`` for
    ``sys.exit(0)``), the ``task`` left behind if it was abandoned."""

    __slots__ = ("how", "result", "error", "task")  # noqa: RUF023 - the constructor's order
    how: How
    result: Any
    error: BaseException | None
    task: asyncio.Task[Any] | None

    def __init__(
        self,
        how: How,
        result: Any = None,
        error: BaseException | None = None,
        task: asyncio.Task[Any] | None = None,
    ) -> None:
        object.__setattr__(self, "how", how)
        object.__setattr__(self, "result", result)
        object.__setattr__(self, "error", error)
        object.__setattr__(self, "task", task)


# -- sync ------------------------------------------------------------------------------------------


def drive_sync(run: RunView) -> Ended:
    """Call the job (the run's interrupts are installed already) and say how it ended."""
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
        return Ended(How.RETURNED, result=call_execute(job, run.params))
    except BaseException as exc:  # noqa: BLE001 - every outcome is mapped to an exit code
        return Ended(How.RAISED, error=as_error(exc))


# -- async -----------------------------------------------------------------------------------------


_building: contextvars.ContextVar[bool] = contextvars.ContextVar("jobframe_building", default=False)
"""Set while the job is built: the tasks created then (async resources' inits) carry a library's own
``BaseException`` out as :class:`EscapedExit` — dependency-injector's callbacks, which catch
``Exception`` only, would drop it and leave the build waiting for ever."""


async def _build_and_execute(run: RunView) -> Any:
    building = _building.set(True)
    try:
        job = await run.abuild()
    finally:
        _building.reset(building)
    run.context.observer.phase("execute")
    return await call_execute(job, run.params)


async def drive_async(run: RunView) -> Ended:
    """Start the job's task, install the interrupts, wait for the task — or abandon it past the
    cancel grace — and say how it ended."""
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
        return Ended(How.ABANDONED, task=task)
    if task.cancelled():
        escaped = interrupts.escaped_error
        error = as_error(escaped) if escaped is not None else asyncio.CancelledError()
        return Ended(How.CANCELLED, error=error)
    if task.exception() is not None:
        return Ended(How.RAISED, error=as_error(task.exception()))
    return Ended(How.RETURNED, result=task.result())


def _abandon(run: RunView, task: asyncio.Task[Any]) -> None:
    """The job ignored its cancellation past the grace: go on without it (it is cancelled again
    when the loop ends, and never waited for beyond :data:`CLEANUP_WAIT_S`)."""
    cancelled_at = run.interrupts.cancelled_at or run.origin
    _log.error(
        "job.cancel_ignored",
        waited_s=round(time.monotonic() - cancelled_at, 3),
        where=stack_of_task(task),
        action="abandoned",
    )


def _discard(awaitable: Any) -> None:
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    elif isinstance(awaitable, asyncio.Future):
        awaitable.cancel()


# -- the event loop --------------------------------------------------------------------------------


async def _contained(coro: Any, interrupts: Interrupts | None = None) -> Any:
    try:
        return await coro
    except EXITS as exc:
        if interrupts is not None:
            interrupts.exit_in_task(exc)
        raise EscapedExit(exc) from exc
    except (Exception, *ENDINGS):
        raise
    except BaseException as exc:
        if _building.get():  # a resource's init: carried, so dependency-injector's callback keeps it
            raise EscapedExit(exc) from exc
        raise  # in the job's own tasks, asyncio's rules: whoever awaits the task gets it as it was


def _containing_exits(
    loop: asyncio.AbstractEventLoop, coro: Any, interrupts: Interrupts | None = None, **kwargs: Any
) -> asyncio.Task[Any]:
    """Task factory: every task of the run (the job's, its children's, resource inits) turns
    ``SystemExit``/``KeyboardInterrupt`` (and, while the job is built, a library's own
    ``BaseException``) into :class:`EscapedExit`, so none skips teardown or is dropped by a
    callback awaiting it — and
    one from a task nobody may await ends the job, as it would end ``asyncio.run``'s program
    (:meth:`~jobframe._run.interrupts.Interrupts.exit_in_task`)."""
    return asyncio.Task(_contained(coro, interrupts), loop=loop, **kwargs)


def run_in_new_loop(run: RunView, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main()`` (the run's async life: :func:`drive_async`, then its tail) like ``asyncio.run``
    would, but without its waits, and to the end.

    ``asyncio.run`` joins executor threads still running blocking calls, which is exactly the kind
    of wait jobframe promises not to have; lingering threads are the exit guard's business. Tasks
    the job left running are cancelled and given :data:`CLEANUP_WAIT_S`, not more — a job task that
    was abandoned, none. An exception that escapes the loop itself (a signal handler of the job's
    raising ``SystemExit``) does not end the run: it is reported to the interrupts and the loop
    resumes, so the run still finishes and tears down.
    """
    loop = asyncio.new_event_loop()
    loop.set_task_factory(functools.partial(_containing_exits, interrupts=run.interrupts))
    try:
        driver = loop.create_task(main(), name="jobframe:run")
        while True:
            try:
                loop.run_until_complete(driver)
                return
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
