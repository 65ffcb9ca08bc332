"""jobframe: run batch jobs in containers with dependency-injected, configured, always-closed resources."""

from jobframe.app import App, load_app
from jobframe.context import RunContext
from jobframe.deadline import Deadline
from jobframe.errors import ConfigurationError, JobframeError, JobInterrupted, RetryableError, UsageError
from jobframe.exit_codes import ExitCode
from jobframe.job import JobSpec, job
from jobframe.logs import get_logger
from jobframe.progress import Progress
from jobframe.runner import RunOptions, RunResult, run_job
from jobframe.settings import Settings, SettingsSources, load_settings

__version__ = "0.1.0"

__all__ = [
    "App",
    "ConfigurationError",
    "Deadline",
    "ExitCode",
    "JobInterrupted",
    "JobSpec",
    "JobframeError",
    "Progress",
    "RetryableError",
    "RunContext",
    "RunOptions",
    "RunResult",
    "Settings",
    "SettingsSources",
    "UsageError",
    "__version__",
    "get_logger",
    "job",
    "load_app",
    "load_settings",
    "run_job",
]
