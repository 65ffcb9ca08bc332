"""jobframe: run batch jobs in containers with dependency-injected, configured, always-closed resources.

The public names are loaded on first use (PEP 562), so ``python -m jobframe`` gets its signal
handlers installed before the heavy imports (dependency-injector, pydantic, structlog) happen.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "App": "jobframe._app",
    "load_app": "jobframe._app",
    "JobSpec": "jobframe._app",
    "job": "jobframe._app",
    "Pod": "jobframe._app.deployment",
    "Resources": "jobframe._app.deployment",
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
    "RunOptions": "jobframe._run",
    "RunResult": "jobframe._run",
    "run_job": "jobframe._run",
    "Settings": "jobframe.settings",
    "SettingsSources": "jobframe.settings",
    "load_settings": "jobframe.settings",
}

__all__ = [
    "App",
    "ConfigurationError",
    "Counted",
    "Deadline",
    "ExitCode",
    "JobInterrupted",
    "JobSpec",
    "JobframeError",
    "Pod",
    "Progress",
    "Resources",
    "Retry",
    "RetryableError",
    "RunContext",
    "RunOptions",
    "RunResult",
    "Settings",
    "SettingsSources",
    "Shard",
    "Sync",
    "UsageError",
    "Volume",
    "__version__",
    "get_logger",
    "job",
    "load_app",
    "load_settings",
    "run_job",
]

if TYPE_CHECKING:
    from jobframe._app import App, JobSpec, job, load_app
    from jobframe._app.deployment import Pod, Resources, Retry, Sync, Volume
    from jobframe._counted import Counted
    from jobframe._run import RunOptions, RunResult, run_job
    from jobframe.context import RunContext
    from jobframe.deadline import Deadline
    from jobframe.errors import ConfigurationError, JobframeError, JobInterrupted, RetryableError, UsageError
    from jobframe.exit_codes import ExitCode
    from jobframe.logs import get_logger
    from jobframe.observe.progress import Progress
    from jobframe.settings import Settings, SettingsSources, load_settings
    from jobframe.shard import Shard


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jobframe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__
