"""The jobframe pytest plugin: fixtures for running an app's jobs in unit tests.

Registered through the ``pytest11`` entry point, so it is active wherever jobframe is installed;
nothing here is autouse and the app is imported only when a test asks for a fixture: a test that
uses none of the ``jobframe_*`` fixtures sees no change at all. Choose the app with
``--jobframe-app``, the ini option ``jobframe_app``, ``JOBFRAME_APP`` or the default
``jobs:MainContainer``; replace any fixture in a ``conftest.py`` to change what tests get.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest
from dependency_injector import containers

from jobframe._app import App
from jobframe._run import RunOptions
from jobframe.settings import Settings
from jobframe.testing._apps import app_reference, load_test_app
from jobframe.testing._class_overrides import ClassOverrideWatch
from jobframe.testing._leaks import LeakError, LeakReport
from jobframe.testing._network import ALLOW_NETWORK, NetworkGuard, block_network
from jobframe.testing._overrides import Overrides
from jobframe.testing._release import TestScope
from jobframe.testing._runs import JobResult, run_job
from jobframe.testing._settings import DEFAULT_PROFILE, make_settings

if TYPE_CHECKING:
    import respx

    from jobframe.braze.fake import FakeBraze

__all__ = [
    "ALLOW_NETWORK",
    "JobRunner",
    "Overrider",
    "fake_braze",
    "jobframe_app",
    "jobframe_braze",
    "jobframe_config_dir",
    "jobframe_container",
    "jobframe_http",
    "jobframe_network",
    "jobframe_override",
    "jobframe_run",
    "jobframe_settings",
]

ALLOW_LEAKS = "jobframe_allow_leaks"
"""Marker name: ``@pytest.mark.jobframe_allow_leaks`` lets the test and its runs leave things open."""


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
        f"{ALLOW_LEAKS}: this test and its jobframe runs may leave resources, clients, sockets, files, "
        "threads or ResourceWarnings behind without failing it",
    )
    config.addinivalue_line(
        "markers",
        f"{ALLOW_NETWORK}(*hosts): this test's jobframe fixtures and runs may reach the real network "
        "(every host, or only the hosts given)",
    )


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Remember whether the test body failed: a leak found at teardown is then not reported on top."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


def _network_rule(request: pytest.FixtureRequest) -> bool | tuple[str, ...]:
    """``True`` (every host allowed), the hosts the marker names, or ``False`` (loopback only)."""
    marker = request.node.get_closest_marker(ALLOW_NETWORK)
    if marker is None:
        return False
    return tuple(str(host) for host in marker.args) if marker.args else True


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
def jobframe_network(request: pytest.FixtureRequest) -> Iterator[NetworkGuard | None]:
    """No real network for this test: lookups and connections beyond loopback fail at once.

    Every fixture built on ``jobframe_container`` uses it. ``@pytest.mark.jobframe_allow_network``
    lets every host through (the fixture gives ``None``), ``(..."host")`` only those; the
    :class:`~jobframe.testing._network.NetworkGuard` lists what was ``blocked``.
    """
    rule = _network_rule(request)
    if rule is True:
        yield None
        return
    with block_network(rule or ()) as guard:
        yield guard


@pytest.fixture
def jobframe_container(
    request: pytest.FixtureRequest,
    jobframe_network: NetworkGuard | None,
    jobframe_app: App,
    jobframe_settings: Settings | None,
) -> Iterator[containers.Container]:
    """A fresh instance of the app's container with the test settings in it; one per test.

    Overrides made on it die with it. A resource the test opened through it and did not close
    fails the test at teardown (after being closed), naming it and where it was opened; an
    override made on the container *class* fails the test (see :mod:`~jobframe.testing._class_overrides`).
    """
    __tracebackhide__ = True  # a leak at teardown shows its message, not this fixture's code
    watch = ClassOverrideWatch(jobframe_app.container_cls)
    container = jobframe_app.container_cls()
    pinned = None
    if jobframe_app.settings_provider is not None and jobframe_settings is not None:
        pinned = Overrides(container, {jobframe_app.settings_provider: jobframe_settings})
    scope = TestScope(container)
    request.node.stash[_WATCH] = watch
    yield container
    left_open = scope.close()  # resources a test opened by calling providers itself
    if pinned is not None:
        pinned.restore()
    watch.check()
    allowed = request.node.get_closest_marker(ALLOW_LEAKS) is not None
    if left_open and not allowed and not request.node.stash.get(_CALL_FAILED, False):
        raise LeakError(f"test {request.node.name}", LeakReport(opened_by_test=left_open))


_WATCH = pytest.StashKey[ClassOverrideWatch]()


def _check_class_overrides(request: pytest.FixtureRequest) -> None:
    watch = request.node.stash.get(_WATCH, None)
    if watch is not None:
        watch.check()


@pytest.fixture
def jobframe_override(
    request: pytest.FixtureRequest, jobframe_container: containers.Container
) -> Iterator[Overrider]:
    """Override providers of this test's container by path; everything is undone at teardown.

    ``jobframe_override(braze__client=stub, settings=other_settings)``; singletons are reset, so no
    dependency built before the override is reused.
    """
    applied: list[Overrides] = []

    def override(**overrides: Any) -> Overrides:
        _check_class_overrides(request)
        done = Overrides(jobframe_container, overrides)
        applied.append(done)
        return done

    yield override
    for done in reversed(applied):
        done.restore()


@pytest.fixture
def jobframe_braze(jobframe_container: containers.Container) -> Iterator[FakeBraze]:
    """An in-process fake Braze that the container's Braze clients talk to, for this test only.

    Program it (``jobframe_braze.fail_next("/messages/send", status=503)``) and read what the job
    sent (``jobframe_braze.requests_to("/messages/send")``). Every ``BrazeModule`` on the container
    is pointed at it; with none, wire it yourself with :func:`jobframe.testing.use_fake_braze`.
    """
    from jobframe.braze.fake import FakeBraze  # noqa: PLC0415 - apps without Braze never import it
    from jobframe.testing._braze import braze_modules, use_fake_braze  # noqa: PLC0415

    fake = FakeBraze()
    wired = use_fake_braze(jobframe_container, fake) if braze_modules(jobframe_container) else None
    yield fake
    if wired is not None:
        wired.restore()


@pytest.fixture
def fake_braze(jobframe_braze: FakeBraze) -> FakeBraze:
    """The older name of ``jobframe_braze``, kept so existing tests keep working."""
    return jobframe_braze


@pytest.fixture
def jobframe_http(jobframe_container: containers.Container) -> Iterator[respx.MockRouter]:
    """respx routes answering the clients of every ``NetworkModule`` on the container.

    ``jobframe_http.get("https://api.example/v1/items").respond(json=[...])``; the clients are the
    module's real ones (base URL, headers, timeouts, limits), on a transport that asks the routes.
    A request no route matches fails at once, naming it. Needs ``respx`` (``jobframe[test]``).
    """
    try:
        from jobframe.testing._http import new_router, use_fake_http  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        if exc.name != "respx":
            raise
        pytest.fail("the jobframe_http fixture needs respx: pip install 'jobframe[test]'", pytrace=False)
    from jobframe._app.graph import modules_of  # noqa: PLC0415
    from jobframe.http import NetworkModule  # noqa: PLC0415

    router = new_router()
    wired = (
        use_fake_http(jobframe_container, router) if modules_of(jobframe_container, NetworkModule) else None
    )
    yield router
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
    test is marked ``jobframe_allow_leaks`` or passes ``check_leaks=False``, or if it tried to
    reach the network (see ``jobframe_network``).
    """
    allow = request.node.get_closest_marker(ALLOW_LEAKS) is not None
    network = _network_rule(request)

    def run(
        job_name: str,
        params: Mapping[str, Any] | None = None,
        *,
        options: RunOptions | None = None,
        handle_signals: bool = False,
        check_leaks: bool | None = None,
    ) -> JobResult:
        __tracebackhide__ = True
        _check_class_overrides(request)
        return run_job(
            jobframe_app,
            job_name,
            params,
            container=jobframe_container,
            options=options,
            handle_signals=handle_signals,
            check_leaks=(not allow) if check_leaks is None else check_leaks,
            allow_network=network,
        )

    runner: JobRunner = run
    return runner
