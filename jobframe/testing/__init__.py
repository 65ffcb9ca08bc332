"""Testing toolkit for jobframe apps: run jobs in-process, override providers, catch leaks.

The pytest plugin (:mod:`jobframe.testing.plugin`, registered as ``pytest11`` entry point
``jobframe``) provides the fixtures ``jobframe_app``, ``jobframe_config_dir``,
``jobframe_settings``, ``jobframe_container``, ``jobframe_override``, ``fake_braze`` and
``jobframe_run``, and the marker ``jobframe_allow_leaks``. The helpers below work without pytest
too. See ``docs/testing.md``.
"""

from jobframe.testing.capture import capture_events
from jobframe.testing.leaks import LeakError, LeakReport, watch_leaks
from jobframe.testing.overrides import Overrides, override, resolve_provider
from jobframe.testing.runs import AppLike, JobResult, as_app, run_job
from jobframe.testing.settings import DEFAULT_PROFILE, make_settings, replace_settings

__all__ = [
    "DEFAULT_PROFILE",
    "AppLike",
    "JobResult",
    "LeakError",
    "LeakReport",
    "Overrides",
    "as_app",
    "capture_events",
    "make_settings",
    "override",
    "replace_settings",
    "resolve_provider",
    "run_job",
    "use_fake_braze",
    "watch_leaks",
]


def __getattr__(name: str) -> object:
    # The Braze helper imports the Braze client stack; load it only for apps that use it.
    if name == "use_fake_braze":
        from jobframe.testing.braze import use_fake_braze  # noqa: PLC0415

        return use_fake_braze
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
