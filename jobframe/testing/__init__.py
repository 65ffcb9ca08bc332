"""Testing toolkit for jobframe apps: run jobs in-process, override providers, catch leaks, stay offline.

The pytest plugin (:mod:`jobframe.testing.plugin`, registered as ``pytest11`` entry point
``jobframe``) provides the fixtures ``jobframe_app``, ``jobframe_config_dir``,
``jobframe_settings``, ``jobframe_network``, ``jobframe_container``, ``jobframe_override``,
``jobframe_braze`` (also ``fake_braze``), ``jobframe_http`` and ``jobframe_run``, and the markers
``jobframe_allow_leaks`` and ``jobframe_allow_network``. The helpers below work without pytest
too. See ``docs/testing.md``.
"""

from typing import Any

from jobframe.testing._capture import capture_events
from jobframe.testing._class_overrides import ClassOverrideError
from jobframe.testing._leaks import LeakError, LeakReport, watch_leaks
from jobframe.testing._network import NetworkBlockedError, block_network
from jobframe.testing._overrides import Overrides, override, resolve_provider
from jobframe.testing._runs import AppLike, JobResult, as_app, run_job
from jobframe.testing._settings import DEFAULT_PROFILE, make_settings, replace_settings

__all__ = [
    "DEFAULT_PROFILE",
    "AppLike",
    "ClassOverrideError",
    "JobResult",
    "LeakError",
    "LeakReport",
    "NetworkBlockedError",
    "Overrides",
    "as_app",
    "async_transport",
    "block_network",
    "capture_events",
    "make_settings",
    "new_router",
    "override",
    "replace_settings",
    "resolve_provider",
    "run_job",
    "transport",
    "use_fake_braze",
    "use_fake_http",
    "watch_leaks",
]


_HTTP = ("use_fake_http", "new_router", "transport", "async_transport")


def __getattr__(name: str) -> Any:
    # The Braze helper imports the Braze client stack, the HTTP one respx: load them only when used.
    if name == "use_fake_braze":
        from jobframe.testing._braze import use_fake_braze  # noqa: PLC0415

        return use_fake_braze
    if name in _HTTP:
        from jobframe.testing import _http  # noqa: PLC0415

        return getattr(_http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


for _public in (ClassOverrideError, JobResult, LeakError, LeakReport, NetworkBlockedError, Overrides):
    _public.__module__ = __name__  # tracebacks and reprs name the public home, not the private module
