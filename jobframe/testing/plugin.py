"""The jobframe pytest plugin: fixtures for running an app's jobs in unit tests.

Registered through the ``pytest11`` entry point, so it is active wherever jobframe is installed;
nothing here is autouse and the app is imported only when a test asks for a fixture. Choose the
app with ``--jobframe-app``, the ini option ``jobframe_app``, ``JOBFRAME_APP`` or the default
``jobs:MainContainer``; replace any fixture in a ``conftest.py`` to change what tests get.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest
from dependency_injector import containers, providers

from jobframe.app import App
from jobframe.run import RunOptions
from jobframe.settings import Settings
from jobframe.testing.apps import app_reference, load_test_app
from jobframe.testing.overrides import Overrides
from jobframe.testing.release import TestScope
from jobframe.testing.runs import JobResult, run_job
from jobframe.testing.settings import DEFAULT_PROFILE, make_settings

if TYPE_CHECKING:
    from jobframe.braze.fake import FakeBraze

__all__ = [
    "ALLOW_LEAKS",
    "JobRunner",
    "Overrider",
    "fake_braze",
    "jobframe_app",
    "jobframe_config_dir",
    "jobframe_container",
    "jobframe_override",
    "jobframe_run",
    "jobframe_settings",
]

ALLOW_LEAKS = "jobframe_allow_leaks"
"""Marker name: ``@pytest.mark.jobframe_allow_leaks`` lets the test's runs leave things behind."""


class JobRunner(Protocol):
    """The ``jobframe_run`` fixture: ``jobframe_run("SomeJob", {"users": ["a"]})``."""

    def __call__(
        self,
        job_name: str,
        params: Mapping[str, Any] | None = None,
        *,
        options: RunOptions | None = None,
        handle_signals: bool = False,
        check_leaks: bool | None = None,
    ) -> JobResult: ...


class Overrider(Protocol):
    """The ``jobframe_override`` fixture: ``jobframe_override(braze__client=stub)``."""

    def __call__(self, **overrides: Any) -> Overrides: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jobframe")
    group.addoption(
        "--jobframe-app",
        default=None,
        metavar="MODULE:ATTR",
        help="the app's main container for jobframe fixtures (default: ini jobframe_app, "
        "JOBFRAME_APP, jobs:MainContainer)",
    )
    parser.addini("jobframe_app", "the app's main container for jobframe fixtures, e.g. jobs:MainContainer")
    parser.addini(
        "jobframe_config_dir",
        "settings profiles directory, relative to the rootdir (default: config)",
        default="config",
    )
    parser.addini(
        "jobframe_settings_profile",
        f"profile loaded on top of default.yaml for test settings (default: {DEFAULT_PROFILE})",
        default=DEFAULT_PROFILE,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALLOW_LEAKS}: jobframe runs in this test may leave resources open, threads running or "
        "ResourceWarnings behind without failing it",
    )


def _root(config: pytest.Config) -> Path:
    return config.inipath.parent if config.inipath is not None else config.rootpath


@pytest.fixture
def jobframe_app(request: pytest.FixtureRequest) -> App:
    """The app under test (see the module docstring for how it is chosen); override to pick another."""
    config = request.config
    reference = app_reference(config.getoption("--jobframe-app"), config.getini("jobframe_app") or None)
    return load_test_app(reference, _root(config))


@pytest.fixture
def jobframe_config_dir(request: pytest.FixtureRequest) -> Path:
    """Where the settings profiles are: ini ``jobframe_config_dir`` under the rootdir (``config``)."""
    return _root(request.config) / str(request.config.getini("jobframe_config_dir"))


@pytest.fixture
def jobframe_settings(
    request: pytest.FixtureRequest, jobframe_app: App, jobframe_config_dir: Path
) -> Settings | None:
    """The app's settings for a test: ``default.yaml`` + ``test.yaml`` (each if present), nothing else.

    Environment variables, ``.env`` and the secrets directory are never read. ``None`` for an app
    without a settings dependency. Override this fixture to give every test other values.
    """
    if jobframe_app.settings_cls is None:
        return None
    profile = str(request.config.getini("jobframe_settings_profile"))
    return make_settings(jobframe_app.settings_cls, config_dir=jobframe_config_dir, profile=profile)


@pytest.fixture
def jobframe_container(
    jobframe_app: App, jobframe_settings: Settings | None
) -> Iterator[containers.Container]:
    """A fresh instance of the app's container with the test settings in it; one per test.

    Overrides made on it die with it; resources the test opened through it are shut down at
    teardown. Overrides made on the container *class* during the test
    would leak into every later test, so they are undone at teardown with a warning.
    """
    before = _class_overrides(jobframe_app.container_cls)
    container = jobframe_app.container_cls()
    pinned = None
    if jobframe_app.settings_provider is not None and jobframe_settings is not None:
        pinned = Overrides(container, {jobframe_app.settings_provider: jobframe_settings})
    scope = TestScope(container)
    yield container
    scope.close()  # resources a test opened by calling providers itself
    if pinned is not None:
        pinned.restore()
    _undo_class_overrides(jobframe_app.container_cls, before)


def _class_overrides(container_cls: type[containers.DeclarativeContainer]) -> dict[int, tuple[Any, int]]:
    counts: dict[int, tuple[Any, int]] = {}

    def walk(provider_map: Mapping[str, Any]) -> None:
        for provider in provider_map.values():
            counts[id(provider)] = (provider, len(provider.overridden))
            if isinstance(provider, providers.Container):
                walk(provider.container.providers)

    walk(container_cls.providers)
    return counts


def _undo_class_overrides(
    container_cls: type[containers.DeclarativeContainer], before: dict[int, tuple[Any, int]]
) -> None:
    leaked = []
    for provider, count in before.values():
        while len(provider.overridden) > count:
            provider.reset_last_overriding()
            leaked.append(repr(provider))
    if leaked:
        warnings.warn(
            f"a test overrode providers on the class {container_cls.__qualname__} (undone now, so later "
            f"tests are not affected); override the jobframe_container instance instead: {leaked}",
            pytest.PytestWarning,
            stacklevel=1,
        )


@pytest.fixture
def jobframe_override(jobframe_container: containers.Container) -> Iterator[Overrider]:
    """Override providers of this test's container by path; everything is undone at teardown.

    ``jobframe_override(braze__client=stub, settings=other_settings)``; singletons are reset, so no
    dependency built before the override is reused.
    """
    applied: list[Overrides] = []

    def override(**overrides: Any) -> Overrides:
        done = Overrides(jobframe_container, overrides)
        applied.append(done)
        return done

    yield override
    for done in reversed(applied):
        done.restore()


@pytest.fixture
def fake_braze(jobframe_container: containers.Container) -> Iterator[FakeBraze]:
    """An in-process fake Braze that the container's Braze clients talk to, for this test only.

    Program it (``fake_braze.fail_next("/messages/send", status=503)``) and read what the job sent
    (``fake_braze.requests_to("/messages/send")``). Every ``BrazeModule`` on the container is
    pointed at it; with none, wire it yourself with :func:`jobframe.testing.use_fake_braze`.
    """
    from jobframe.braze.fake import FakeBraze  # noqa: PLC0415 - apps without Braze never import it
    from jobframe.testing.braze import braze_modules, use_fake_braze  # noqa: PLC0415

    fake = FakeBraze()
    wired = use_fake_braze(jobframe_container, fake) if braze_modules(jobframe_container) else None
    yield fake
    if wired is not None:
        wired.restore()


@pytest.fixture
def jobframe_run(
    request: pytest.FixtureRequest,
    jobframe_app: App,
    jobframe_container: containers.Container,
) -> JobRunner:
    """Run a job of the app on this test's container: ``jobframe_run("SomeJob", {"users": ["a"]})``.

    The run uses the container's current overrides and settings, returns a :class:`JobResult`
    (exit code, status, result, log events, resources) and fails the test if it leaks, unless the
    test is marked ``jobframe_allow_leaks`` or passes ``check_leaks=False``.
    """
    allow = request.node.get_closest_marker(ALLOW_LEAKS) is not None

    def run(
        job_name: str,
        params: Mapping[str, Any] | None = None,
        *,
        options: RunOptions | None = None,
        handle_signals: bool = False,
        check_leaks: bool | None = None,
    ) -> JobResult:
        return run_job(
            jobframe_app,
            job_name,
            params,
            container=jobframe_container,
            options=options,
            handle_signals=handle_signals,
            check_leaks=(not allow) if check_leaks is None else check_leaks,
        )

    runner: JobRunner = run
    return runner
