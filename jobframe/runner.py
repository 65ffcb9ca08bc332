"""Run one job through its whole life: validate, build, execute, finish, tear down.

The CLI and the testing toolkit both call :func:`run_job`, so a job behaves the same in a test as
in a container. This module prepares a run (job, params, settings, container, deadline) and
hands it to :class:`~jobframe.lifecycle.Run`; the process-level part (exit guard, ``os._exit``)
stays in :mod:`jobframe.cli`, since a test process must not exit.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from dependency_injector import containers
from pydantic import BaseModel

from jobframe.app import App, JobEntry
from jobframe.context import RunContext
from jobframe.deadline import Deadline, effective_deadline
from jobframe.errors import JobframeError, UsageError
from jobframe.lifecycle import Run, run_in_new_loop, seconds_until_cancel
from jobframe.logs import Redact, get_logger
from jobframe.outcome import RunOptions, RunResult
from jobframe.params import parse_params
from jobframe.progress import Progress
from jobframe.settings import Settings, SettingsSources, load_settings, secret_values

__all__ = ["RunOptions", "RunResult", "run_job"]  # the options and result types live in jobframe.outcome

_log = get_logger("jobframe")


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
            cancel_in_s=round(
                seconds_until_cancel(left, options.deadline_margin, options.shutdown_timeout), 3
            ),
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
    run = Run(app=app, entry=entry, params=parsed, container=container, context=context, options=options)
    run.registry.instrument(container)
    with _bound(entry.spec.name, run_id):
        _log_started(entry, parsed, context, options)
        code = run_in_new_loop(run.run_async()) if entry.spec.is_async else run.run_sync()
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
