"""Run a job in a test: the real lifecycle, hermetic settings, captured events, leak checks.

Everything that happens to a job in a container happens here too — params validation, settings,
container filling, instrumented teardown, exit-code mapping — because this calls
:func:`jobframe.embed.run`. What the toolkit adds is only what a test needs around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dependency_injector import containers

from jobframe._app import App, load_app
from jobframe._run import RunOptions, RunResult
from jobframe._run import run_job as run
from jobframe.logs import Redact
from jobframe.settings import Settings
from jobframe.testing._capture import capture_events
from jobframe.testing._leaks import LeakError, LeakReport, watch_leaks
from jobframe.testing._network import NetworkBlockedError, block_network
from jobframe.testing._overrides import Overrides
from jobframe.testing._settings import DEFAULT_PROFILE, make_settings

__all__ = ["AppLike", "JobResult", "as_app", "run_job"]

AppLike = App | type[containers.DeclarativeContainer] | str
"""An :class:`~jobframe.embed.App`, a main container class, or a ``"module:Container"`` reference."""


def as_app(app: AppLike) -> App:
    """Accept what a test has at hand and return the :class:`~jobframe.embed.App`."""
    if isinstance(app, App):
        return app
    if isinstance(app, str):
        return load_app(app)
    return App.from_container(app)


@dataclass(repr=False)
class JobResult(RunResult):
    """A :class:`~jobframe.embed.RunResult` plus what a test asserts on: log events and leaks.

    ``logs`` holds every event of the run as a dict, *after* redaction (``event``, ``level``,
    ``logger``, ``job``, ``run_id`` and the event's own fields).
    """

    logs: list[dict[str, Any]] = field(default_factory=list)
    leaks: LeakReport = field(default_factory=LeakReport)

    def events(self, event: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        """Events named ``event`` (all when ``None``) whose fields equal ``fields``, oldest first."""
        return [
            e
            for e in self.logs
            if (event is None or e.get("event") == event)
            and all(k in e and e[k] == v for k, v in fields.items())
        ]

    def event(self, event: str, **fields: Any) -> dict[str, Any]:
        """The one event named ``event`` matching ``fields``; fails listing the events seen otherwise."""
        found = self.events(event, **fields)
        if len(found) != 1:
            seen = ", ".join(str(e.get("event")) for e in self.logs) or "none"
            raise AssertionError(
                f"expected exactly one {event!r} event matching {fields}, found {len(found)}; events: {seen}"
            )
        return found[0]

    def __repr__(self) -> str:
        error = f" error={self.error!r}" if self.error is not None else ""
        return f"<JobResult {self.job} exit_code={int(self.exit_code)} ({self.exit_code.name}){error}>"


def settings_of(app: App, container: containers.Container) -> Settings | None:
    """The settings ``container`` will give its jobs, if a test already put them there."""
    if app.settings_provider is None:
        return None
    provider = getattr(container, app.settings_provider)
    if not provider.overridden:
        return None
    value = provider()
    return value if isinstance(value, Settings) else None


def _refuse_running_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "jobframe.testing.run_job runs the job's own event loop, so it cannot be called from a running "
        "one; write a plain (sync) test, or use: await asyncio.to_thread(run_job, ...)"
    )


def run_job(
    app: AppLike,
    job_name: str,
    params: Mapping[str, Any] | None = None,
    *,
    container: containers.Container | None = None,
    settings: Settings | None = None,
    options: RunOptions | None = None,
    handle_signals: bool = False,
    check_leaks: bool = True,
    allow_network: bool | Collection[str] = False,
    config_dir: Path | str = "config",
    profile: str | None = DEFAULT_PROFILE,
) -> JobResult:
    """Run ``job_name`` in-process exactly as the CLI would and return a :class:`JobResult`.

    Settings, first match wins: ``settings``; those already overridden on ``container``; else
    :func:`~jobframe.testing.make_settings` from ``config_dir``/``profile`` (never the environment).
    Singletons are reset before the run, so none built before an override is reused. Signal
    handlers are not installed unless ``handle_signals`` (it overrides ``options``). With
    ``check_leaks`` a run that leaves resources, clients, sockets, files, threads or
    ResourceWarnings raises :class:`~jobframe.testing.LeakError` (its ``result`` holds the
    :class:`JobResult`). The run cannot reach the network but loopback: a lookup or connection
    elsewhere fails at once, and the run raises :class:`~jobframe.testing.NetworkBlockedError`
    afterwards even if the job caught it; ``allow_network`` lets every host (``True``) or the
    given host names through.
    """
    __tracebackhide__ = True  # a failing test shows its own line, not this function's insides
    _refuse_running_loop()
    the_app = as_app(app)
    container = container if container is not None else the_app.container_cls()
    pinned: Overrides | None = None
    if settings is not None and the_app.settings_provider is not None:
        pinned = Overrides(container, {the_app.settings_provider: settings})
    if settings is None:
        settings = settings_of(the_app, container)
    if settings is None and the_app.settings_cls is not None:
        settings = make_settings(the_app.settings_cls, config_dir=config_dir, profile=profile)
    options = dataclasses.replace(options or RunOptions(), handle_signals=handle_signals)
    container.reset_singletons()
    redact = Redact()
    allowed = () if isinstance(allow_network, bool) else allow_network
    network = block_network(allowed) if allow_network is not True else contextlib.nullcontext(None)
    try:
        with network as guard, watch_leaks() as leaks, capture_events(redact) as events:
            outcome = run(
                the_app,
                job_name,
                params,
                settings=settings,
                container=container,
                options=options,
                redact=redact,
            )
    finally:
        if pinned is not None:
            pinned.restore()
    leaks.add_run(outcome)
    values = {f.name: getattr(outcome, f.name) for f in dataclasses.fields(RunResult)}
    result = JobResult(**values, logs=events, leaks=leaks)
    if guard is not None and guard.blocked:
        raise NetworkBlockedError(guard.blocked, result)
    if check_leaks and leaks:
        raise LeakError(f"job {result.job}", leaks, result)
    return result
