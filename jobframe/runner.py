"""Run one job through its whole life: validate, build, execute, finish, tear down.

This is the one place the lifecycle is spelled out; the CLI and the testing toolkit both call
:func:`run_job`, so a job behaves the same in a test as in a container. The process-level part
(exit guard, ``os._exit``) stays in :mod:`jobframe.cli`, since a test process must not exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from dependency_injector import containers
from dependency_injector.errors import Error as DependencyInjectorError
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from jobframe.app import App, JobEntry
from jobframe.context import RunContext
from jobframe.deadline import Deadline, effective_deadline
from jobframe.errors import ConfigurationError, JobframeError, JobInterrupted, UsageError
from jobframe.exit_codes import ExitCode
from jobframe.files import write_json_atomic
from jobframe.interrupts import Interrupts
from jobframe.job import call_execute
from jobframe.logs import Redact, get_logger
from jobframe.params import parse_params
from jobframe.progress import Progress
from jobframe.settings import Settings, SettingsSources, load_settings, secret_values
from jobframe.teardown import ResourceRegistry

__all__ = ["RunOptions", "RunResult", "run_job"]

_log = get_logger("jobframe")


@dataclass(frozen=True)
class RunOptions:
    """How one run is bounded and where it reports; the CLI's flags, as data."""

    timeout: float | None = None
    deadline: datetime | None = None
    argo_deadline: datetime | None = None
    deadline_margin: float = 10.0
    shutdown_timeout: float = 5.0
    output: Path | None = None
    progress_file: Path | None = None
    handle_signals: bool = True
    run_id: str | None = None
    on_finished: Callable[[ExitCode], None] | None = None
    """Called with the exit code the moment the job's outcome is known, before teardown: the
    CLI uses it so that a signal arriving after the run still ends the process with that code."""


@dataclass
class RunResult:
    """What happened: the exit code and everything a caller (or a test) may want to inspect."""

    job: str
    run_id: str
    exit_code: ExitCode
    started: bool
    result: Any = None
    error: BaseException | None = None
    duration_s: float = 0.0
    finished_at: float = field(default_factory=time.monotonic)
    resources_opened: list[str] = field(default_factory=list)
    resources_closed: list[str] = field(default_factory=list)
    resources_failed: list[str] = field(default_factory=list)
    resources_unmanaged: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.exit_code.status

    @property
    def succeeded(self) -> bool:
        return self.exit_code is ExitCode.SUCCEEDED


def _exit_code(exc: BaseException | None, interrupts: Interrupts) -> ExitCode:
    if interrupts.reason is not None:
        return interrupts.reason.exit_code
    if exc is None:
        return ExitCode.SUCCEEDED
    if isinstance(exc, JobInterrupted | JobframeError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.SIGINT
    return ExitCode.FAILED


def _as_error(exc: BaseException | None) -> BaseException | None:
    """A job that ends itself with ``sys.exit(0)`` did not fail: no error for it, or for teardown."""
    return None if isinstance(exc, SystemExit) and exc.code in (0, None) else exc


@dataclass
class _Run:
    """The state of one run between preparation and teardown."""

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
    escaped: BaseException | None = None
    started: float = field(default_factory=time.monotonic)
    finished_at: float = 0.0

    @property
    def provider(self) -> Any:
        return getattr(self.container, self.entry.provider_name)

    def cancel_in(self) -> float | None:
        deadline = self.context.deadline
        return None if deadline is None else _cancel_in(deadline.seconds_left(), self.options.deadline_margin)

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
        code = _exit_code(self.error, self.interrupts)
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
                    self.error = _as_error(exc)
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
        try:
            job = self._build()
            if inspect.isawaitable(job):
                try:
                    job = await job
                except DependencyInjectorError as exc:
                    raise ConfigurationError(f"cannot build job {self.entry.spec.name}: {exc}") from exc
            return await call_execute(job, self.params)
        except (SystemExit, KeyboardInterrupt) as exc:
            # asyncio re-raises these out of the event loop, which would skip teardown entirely.
            self.escaped = exc
            return None

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
            elif self.escaped is not None:
                self.error = _as_error(self.escaped)
            elif task.exception() is not None:
                self.error = task.exception()
            else:
                try:
                    self.succeed(task.result())
                except Exception as exc:  # noqa: BLE001 - e.g. an unserialisable result for --output
                    self.error = exc
            code = self.log_finished()
            await self.registry.aclose_all(self.error, budget=self.options.shutdown_timeout)
            await self.registry.arelease()
            return code
        finally:
            interrupts.restore()


MAX_MARGIN_SHARE = 0.25
"""The deadline margin never takes more than this share of the time left at start."""


def _cancel_in(seconds_left: float, margin: float) -> float:
    """Seconds until the job is cancelled: ``margin`` before the deadline, but a short deadline
    (a 5 s ``activeDeadlineSeconds``) still leaves the job most of its time rather than none."""
    return seconds_left - min(margin, max(seconds_left, 0.0) * MAX_MARGIN_SHARE)


def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()


def _discard(awaitable: Any) -> None:
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    elif isinstance(awaitable, asyncio.Future):
        awaitable.cancel()


def _run_in_new_loop(coro: Any) -> ExitCode:
    """Like ``asyncio.run`` but without waiting for the default executor's threads at the end.

    ``asyncio.run`` joins executor threads still running blocking calls, which is exactly the kind
    of wait jobframe promises not to have; lingering threads are the exit guard's business.
    """
    loop = asyncio.new_event_loop()
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


def _deadline(options: RunOptions) -> Deadline | None:
    return effective_deadline(
        now=datetime.now(UTC),
        timeout=options.timeout,
        deadline=options.deadline,
        argo_deadline=options.argo_deadline,
    )


@contextlib.contextmanager
def _bound(job: str, run_id: str) -> Iterator[None]:
    with structlog.contextvars.bound_contextvars(job=job, run_id=run_id):
        yield


def _log_started(entry: JobEntry, params: BaseModel | None, context: RunContext, options: RunOptions) -> None:
    deadline = context.deadline
    fields: dict[str, Any] = {
        "params": params.model_dump(mode="json") if params is not None else {},
        "deadline": deadline.at.isoformat().replace("+00:00", "Z") if deadline else None,
        "deadline_source": deadline.source if deadline else None,
        "seconds_left": round(deadline.seconds_left(), 3) if deadline else None,
    }
    _log.info("job.started", **fields)
    if deadline is None:
        return
    needed = max(entry.spec.min_seconds, options.deadline_margin)
    left = deadline.seconds_left()
    if left < needed:
        _log.warning(
            "deadline.short",
            seconds_left=round(left, 3),
            cancel_in_s=round(_cancel_in(left, options.deadline_margin), 3),
            min_seconds=entry.spec.min_seconds,
            deadline_margin=options.deadline_margin,
            deadline_source=deadline.source,
        )


def _check_output(path: Path | None) -> None:
    """Refuse an unwritable ``--output`` before the job has any effect, not after."""
    if path is None:
        return
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"--output {str(path)!r}: directory {str(directory)!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"--output {str(path)!r}: directory {str(directory)!r} is not writable")


def run_job(
    app: App,
    job_name: str,
    params: Mapping[str, Any] | None = None,
    *,
    sources: SettingsSources | None = None,
    settings: Settings | None = None,
    container: containers.Container | None = None,
    options: RunOptions | None = None,
    redact: Redact | None = None,
) -> RunResult:
    """Run ``job_name`` of ``app`` and return its :class:`RunResult`; never exits the process.

    ``settings`` (already loaded) wins over ``sources``; ``container`` lets a caller pass an
    instance it has overridden providers on. Errors found before the job starts (unknown job,
    bad params, bad settings) come back as a result with ``started=False``.
    """
    options = options or RunOptions()
    run_id = options.run_id or uuid.uuid4().hex
    try:
        _check_output(options.output)
        entry = app.job(job_name)
        parsed = parse_params(entry.spec, dict(params or {}))
        if settings is None and app.settings_cls is not None:
            settings = load_settings(app.settings_cls, sources or SettingsSources())
        if settings is not None and redact is not None:
            redact.add_secrets(secret_values(settings))
        if container is None:
            container = app.container_cls()
    except JobframeError as exc:
        return RunResult(job=job_name, run_id=run_id, exit_code=exc.exit_code, started=False, error=exc)

    context = RunContext(
        job=entry.spec.name,
        run_id=run_id,
        deadline=_deadline(options),
        progress=Progress(options.progress_file),
    )
    app.fill(container, settings, context)
    run = _Run(app=app, entry=entry, params=parsed, container=container, context=context, options=options)
    run.registry.instrument(container)
    with _bound(entry.spec.name, run_id):
        _log_started(entry, parsed, context, options)
        code = _run_in_new_loop(run.run_async()) if entry.spec.is_async else run.run_sync()
    registry = run.registry
    return RunResult(
        job=entry.spec.name,
        run_id=run_id,
        exit_code=code,
        started=True,
        result=run.result,
        error=run.error,
        duration_s=round(run.finished_at - run.started, 6),
        finished_at=run.finished_at,
        resources_opened=registry.opened_names,
        resources_closed=list(registry.closed_names),
        resources_failed=list(registry.failed_names),
        resources_unmanaged=list(registry.unmanaged_names),
    )
