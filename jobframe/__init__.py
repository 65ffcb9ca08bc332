"""jobframe: run batch jobs in containers with dependency-injected, configured, always-closed resources.

This package is what a job author imports: ``@jobframe.job``, :class:`RunContext`,
:class:`Settings`, the errors and exit codes, and the deployment declarations. What embeds
jobframe in another program (an app, run options, settings sources) lives in
:mod:`jobframe.embed`; tests use :mod:`jobframe.testing`.

The public names are loaded on first use (PEP 562), so ``python -m jobframe`` gets its signal
handlers installed before the heavy imports (dependency-injector, pydantic, structlog) happen.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "job": "jobframe._app.spec",
    "Pod": "jobframe._app.deployment",
    "PodResources": "jobframe._app.deployment",
    "Retry": "jobframe._app.deployment",
    "Sync": "jobframe._app.deployment",
    "Volume": "jobframe._app.deployment",
    "Shard": "jobframe.shard",
    "RunContext": "jobframe.context",
    "Deadline": "jobframe.deadline",
    "ConfigurationError": "jobframe.errors",
    "JobframeError": "jobframe.errors",
    "JobInterrupted": "jobframe.errors",
    "RetryableError": "jobframe.errors",
    "UsageError": "jobframe.errors",
    "ExitCode": "jobframe.exit_codes",
    "get_logger": "jobframe.logs",
    "Counted": "jobframe._counted",
    "Progress": "jobframe.observe.progress",
    "Settings": "jobframe.settings",
}

_MOVED = {
    "App": "jobframe.embed.App",
    "load_app": "jobframe.embed.load_app",
    "RunOptions": "jobframe.embed.RunOptions",
    "RunResult": "jobframe.embed.RunResult",
    "run_job": "jobframe.embed.run",
    "SettingsSources": "jobframe.embed.SettingsSources",
    "load_settings": "jobframe.embed.load_settings",
    "Resources": "jobframe.PodResources",
    "JobSpec": "jobframe.embed.App.jobs[name].spec",
}
"""Names that used to be here, and where they went: asking for one says so."""

__all__ = [
    "ConfigurationError",
    "Counted",
    "Deadline",
    "ExitCode",
    "JobInterrupted",
    "JobframeError",
    "Pod",
    "PodResources",
    "Progress",
    "Retry",
    "RetryableError",
    "RunContext",
    "Settings",
    "Shard",
    "Sync",
    "UsageError",
    "Volume",
    "__version__",
    "get_logger",
    "job",
]

if TYPE_CHECKING:
    from jobframe._app.deployment import Pod, PodResources, Retry, Sync, Volume
    from jobframe._app.spec import job
    from jobframe._counted import Counted
    from jobframe.context import RunContext
    from jobframe.deadline import Deadline
    from jobframe.errors import ConfigurationError, JobframeError, JobInterrupted, RetryableError, UsageError
    from jobframe.exit_codes import ExitCode
    from jobframe.logs import get_logger
    from jobframe.observe.progress import Progress
    from jobframe.settings import Settings
    from jobframe.shard import Shard


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        moved = _MOVED.get(name)
        if moved is not None:
            raise AttributeError(f"jobframe.{name} has moved: use {moved}")
        raise AttributeError(f"module 'jobframe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__
