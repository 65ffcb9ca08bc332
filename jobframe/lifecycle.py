"""The life of one job after it is prepared: build, execute, finish, tear down — sync or async.

Sync jobs run in the main thread, where a signal or the deadline raises ``JobInterrupted`` at the
next instruction; async jobs run as a task on a fresh event loop and are cancelled instead.
Either way the outcome is logged once (``job.finished``) and every resource is closed.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from dataclasses import dataclass, field
from typing import Any

from dependency_injector import containers
from dependency_injector.errors import Error as DependencyInjectorError
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from jobframe.app import App, JobEntry
from jobframe.context import RunContext
from jobframe.errors import ConfigurationError, JobInterrupted
from jobframe.exit_codes import ExitCode
from jobframe.files import write_json_atomic
from jobframe.interrupts import Interrupts
from jobframe.job import call_execute
from jobframe.logs import get_logger
from jobframe.outcome import EscapedExit, RunOptions, as_error, exit_code_for
from jobframe.teardown import ResourceRegistry

__all__ = ["MAX_MARGIN_SHARE", "Run", "run_in_new_loop", "seconds_until_cancel"]

_log = get_logger("jobframe")


@dataclass
class Run:
    """One run between preparation and teardown: build, execute, log the outcome, close everything."""

    app: App
    entry: JobEntry
    params: BaseModel | None
    container: containers.Container
    context: RunContext
    options: RunOptions
    registry: ResourceRegistry = field(default_factory=ResourceRegistry)
    interrupts: Interrupts = field(default_factory=Interrupts)
    result: Any = None
    error: BaseException | None = None
    started: float = field(default_factory=time.monotonic)
    finished_at: float = 0.0

    @property
    def provider(self) -> Any:
        return getattr(self.container, self.entry.provider_name)

    def cancel_in(self) -> float | None:
        deadline = self.context.deadline
        return (
            None
            if deadline is None
            else seconds_until_cancel(deadline.seconds_left(), self.options.deadline_margin)
        )

    # -- the steps shared by both modes ------------------------------------------------------

    def succeed(self, result: Any) -> None:
        if self.options.output is not None:
            try:
                value = to_jsonable_python(result)
            except PydanticSerializationError as exc:
                raise TypeError(f"--output: the job's result is not JSON-serialisable: {exc}") from None
            write_json_atomic(self.options.output, value)
        self.result = result

    def log_finished(self) -> ExitCode:
        self.finished_at = time.monotonic()
        code = exit_code_for(self.error, self.interrupts.reason)
        if self.options.on_finished is not None:
            self.options.on_finished(code)
        fields: dict[str, Any] = {
            "status": code.status,
            "exit_code": int(code),
            "duration_s": round(self.finished_at - self.started, 6),
        }
        if code is ExitCode.SUCCEEDED:
            _log.info("job.finished", **fields)
        elif self.interrupts.reason is not None or isinstance(self.error, JobInterrupted):
            reason = self.interrupts.reason or self.error
            _log.warning("job.finished", reason=str(reason), **fields)
        else:
            err = self.error
            assert err is not None
            _log.error(
                "job.finished",
                error_type=f"{type(err).__module__}.{type(err).__qualname__}",
                error_message=str(err),
                exc_info=err,
                **fields,
            )
        return code

    # -- sync mode -----------------------------------------------------------------------------

    def run_sync(self) -> ExitCode:
        interrupts = self.interrupts
        if self.options.handle_signals:
            interrupts.install()
        try:
            try:
                try:
                    self._arm_deadline()
                    job = self._build()
                    if inspect.isawaitable(job):
                        _discard(job)
                        raise ConfigurationError(
                            f"job {self.entry.spec.name} has a sync execute() but depends on an async "
                            "resource; make execute async or provide a sync resource"
                        )
                    self.succeed(call_execute(job, self.params))
                except BaseException as exc:  # noqa: BLE001 - every outcome is mapped to an exit code
                    self.error = as_error(exc)
                interrupts.job_done()
            except JobInterrupted as late:  # a signal between the job's end and job_done()
                self.error = self.error or late
                interrupts.job_done()
            interrupts.disarm()
            code = self.log_finished()
            self.registry.close_all(self.error, budget=self.options.shutdown_timeout, timer=interrupts)
            self.registry.release()
            return code
        finally:
            interrupts.restore()

    def _arm_deadline(self) -> None:
        cancel_in = self.cancel_in()
        if cancel_in is not None:
            self.interrupts.arm_deadline(cancel_in)

    # -- async mode ------------------------------------------------------------------------------

    def _build(self) -> Any:
        """Call the job's Factory; a wiring gap found only now is still a configuration error."""
        try:
            return self.provider()
        except DependencyInjectorError as exc:
            raise ConfigurationError(f"cannot build job {self.entry.spec.name}: {exc}") from exc

    async def _build_and_execute(self) -> Any:
        job = self._build()
        if inspect.isawaitable(job):
            try:
                job = await job
            except DependencyInjectorError as exc:
                raise ConfigurationError(f"cannot build job {self.entry.spec.name}: {exc}") from exc
        return await call_execute(job, self.params)

    async def run_async(self) -> ExitCode:
        loop = asyncio.get_running_loop()
        interrupts = self.interrupts
        task = loop.create_task(self._build_and_execute(), name=f"job:{self.entry.spec.name}")
        if self.options.handle_signals:
            interrupts.install_async(loop, lambda: _cancel(task))
        try:
            self._arm_deadline()
            await asyncio.wait([task])
            interrupts.job_done()
            interrupts.disarm()
            if task.cancelled():
                self.error = interrupts.reason or asyncio.CancelledError()
            elif task.exception() is not None:
                self.error = as_error(task.exception())
            else:
                try:
                    self.succeed(task.result())
                except Exception as exc:  # noqa: BLE001 - e.g. an unserialisable result for --output
                    self.error = exc
            code = self.log_finished()
            await self.registry.aclose_all(self.error, budget=self.options.shutdown_timeout, timer=interrupts)
            await self.registry.arelease()
            return code
        finally:
            interrupts.restore()


MAX_MARGIN_SHARE = 0.25
"""The deadline margin takes at most this share of the time left at start, unless teardown needs more."""


def seconds_until_cancel(seconds_left: float, margin: float, shutdown_timeout: float = 0.0) -> float:
    """Seconds until the job is cancelled: ``margin`` before the deadline.

    A short deadline (a 5 s ``activeDeadlineSeconds``) still leaves the job most of its time:
    the margin shrinks to a quarter of the time left — but not below the teardown budget while
    that fits in half the time left, so closing still finishes before the deadline.
    """
    left = max(seconds_left, 0.0)
    floor = min(shutdown_timeout, left / 2)
    return seconds_left - min(margin, max(left * MAX_MARGIN_SHARE, floor))


def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()


def _discard(awaitable: Any) -> None:
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    elif isinstance(awaitable, asyncio.Future):
        awaitable.cancel()


async def _contained(coro: Any) -> Any:
    try:
        return await coro
    except (SystemExit, KeyboardInterrupt) as exc:
        raise EscapedExit(exc) from exc


def _containing_exits(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    """Task factory: every task of the run (the job's, its children's, resource inits) turns
    ``SystemExit``/``KeyboardInterrupt`` into :class:`EscapedExit`, so none skips teardown."""
    return asyncio.Task(_contained(coro), loop=loop, **kwargs)


def run_in_new_loop(coro: Any) -> ExitCode:
    """Like ``asyncio.run`` but without waiting for the default executor's threads at the end.

    ``asyncio.run`` joins executor threads still running blocking calls, which is exactly the kind
    of wait jobframe promises not to have; lingering threads are the exit guard's business.
    """
    loop = asyncio.new_event_loop()
    loop.set_task_factory(_containing_exits)
    try:
        return loop.run_until_complete(coro)  # type: ignore[no-any-return]
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), timeout=1.0))
        except Exception:  # noqa: BLE001,S110 - best effort: the job's outcome is already decided
            pass
        finally:
            loop.close()
