"""Pick and build a run: the job by name, its params, the settings, the container, the context.

:func:`run_job` is the one entry point for running a job — the CLI and the testing toolkit both
call it, so a job behaves the same in a test as in a container. Everything that can be wrong
before the job starts (unknown job, bad params, a deadline already past, bad settings, unwritable
``--output``, the wiring ``--check`` would refuse) is found here and comes back as a result with
``started=False``; nothing has been opened yet then.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dependency_injector import containers
from pydantic import BaseModel

from jobframe._app.check import check_job, wiring_error
from jobframe._app.discovery import App, JobEntry
from jobframe._app.params import parse_params
from jobframe._digest import run_fingerprint
from jobframe._run.options import RunOptions, RunResult
from jobframe._run.outcome import exit_code
from jobframe._run.run import Run
from jobframe.context import RunContext
from jobframe.deadline import effective_deadline
from jobframe.errors import DeadlinePassedError, JobframeError, UsageError
from jobframe.files import unwritable_reason
from jobframe.logs import Redact
from jobframe.observe.observer import Observer
from jobframe.observe.progress import Progress
from jobframe.settings import Settings, SettingsSources, load_settings, secret_values
from jobframe.shard import Shard

__all__ = ["chosen", "prepare", "run_job"]


def _check_output(path: Path | None) -> None:
    """Refuse an unwritable ``--output`` before the job has any effect, not after."""
    reason = None if path is None else unwritable_reason(path)
    if reason is not None:
        raise UsageError(f"--output {str(path)!r}: {reason}")


def chosen(
    app: App, job_name: str, params: Mapping[str, Any] | None, shard: Shard
) -> tuple[JobEntry, BaseModel | None]:
    """The job ``job_name`` and its parsed params, or a usage error: what ``--check --job-name``
    proves of a command line, and the first thing a run refuses."""
    entry = app.job(job_name)
    if not shard.is_whole and not entry.spec.deployment.shardable:
        raise UsageError(
            f"--shard {shard}: job {entry.spec.name} is not shardable "
            "(it must read RunContext.shard and declare @jobframe.job(shardable=True))"
        )
    return entry, parse_params(entry.spec, dict(params or {}))


def prepare(
    app: App,
    job_name: str,
    params: Mapping[str, Any] | None = None,
    *,
    sources: SettingsSources | None = None,
    settings: Settings | None = None,
    container: containers.Container | None = None,
    options: RunOptions | None = None,
    redact: Redact | None = None,
) -> Run:
    """Everything up to the job's start; raises a :class:`~jobframe.JobframeError` on bad input."""
    options = options or RunOptions()
    _check_output(options.output)
    shard = options.shard or Shard()
    entry, parsed = chosen(app, job_name, params, shard)
    deadline = effective_deadline(
        now=options.timeout_origin or datetime.now(UTC),
        timeout=options.timeout,
        deadline=options.deadline,
        argo_deadline=options.argo_deadline,
    )
    if deadline is not None and deadline.seconds_left() <= 0:
        raise DeadlinePassedError(
            f"the deadline ({deadline.source}, {deadline.at.isoformat().replace('+00:00', 'Z')}) "
            f"passed before job {entry.spec.name} could start: nothing was run"
        )
    if settings is None and app.settings_cls is not None:
        settings = load_settings(app.settings_cls, sources or SettingsSources())
    if settings is not None and redact is not None:
        redact.add_secrets(secret_values(settings))
    if container is None:
        container = app.create()
    context = RunContext(
        job=entry.spec.name,
        run_id=options.run_id or uuid.uuid4().hex,
        deadline=deadline,
        progress=Progress(options.progress_file),
        run_key=options.run_key,
        fresh_run=options.fresh_run,
        resend_ambiguous=options.resend_ambiguous,
        retry_number=options.retry_number,
        new_run=options.new_run,
        registered=options.registered,
        fingerprint=run_fingerprint(
            entry.spec.name,
            parsed.model_dump(mode="json") if parsed else None,
            None if shard.is_whole else str(shard),
        ),
        shard=shard,
        observer=options.observer or Observer(),
    )
    app.fill(container, settings, context)
    problems = check_job(app, container, entry.spec.name)
    if problems:  # what --check finds, refused before the job starts and before anything opens
        raise wiring_error({entry.spec.name: problems})
    return Run(
        app=app,
        entry=entry,
        params=parsed,
        container=container,
        context=context,
        options=options,
        scrub=redact.scrub if redact is not None else None,
    )


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
    """Run ``job_name`` of ``app`` and return its :class:`RunResult`.

    ``settings`` (already loaded) wins over ``sources``; ``container`` lets a caller pass an
    instance it has overridden providers on. Errors found before the job starts come back as a
    result with ``started=False``.
    """
    try:
        run = prepare(
            app,
            job_name,
            params,
            sources=sources,
            settings=settings,
            container=container,
            options=options,
            redact=redact,
        )
    except JobframeError as exc:
        run_id = (options.run_id if options else None) or uuid.uuid4().hex
        return RunResult(job=job_name, run_id=run_id, exit_code=exit_code(exc), started=False, error=exc)
    return run.execute()
