"""One wiring fault per container (``apps/quotes.py``), each through ``--check`` and through a run.

The promise: what ``--check`` finds, a run refuses the same way before the job starts (78, one
error, no log line, no resource opened); what only a build can find is still 78, with what it
opened closed. Each case is a real ``jobframe`` process.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, Ran, run_cli

pytestmark = pytest.mark.process

APPS = Path(__file__).resolve().parent / "apps"
CONFIG = ["--config-dir", str(APPS / "config")]


@dataclass(frozen=True)
class Fault:
    container: str
    needles: tuple[str, ...]
    env: str = "local"
    job: str = "FetchQuote"


FAULTS = [
    Fault(
        "SettingsTypo",
        (
            "FetchQuote: settings.provided.quotez: QuotesAppSettings has no field 'quotez'",
            "(did you mean 'quotes'?); its fields: quotes",
        ),
    ),
    Fault(
        "WrongType",
        (
            "FetchQuote(quotes: tests.app.apps.quotes.QuoteService) is given quotes_network.client, "
            "which provides httpx.Client",
        ),
    ),
    Fault(
        "UnexpectedKeyword",
        ("FetchQuote() got an unexpected keyword 'quote' (did you mean 'quotes'?); it takes: quotes",),
    ),
    Fault("WrongInstanceOf", ("is given service, which provides tests.app.apps.quotes.QuoteSettings",)),
    Fault(
        "NoBaseUrl",
        ("settings quotes.http.base_url: is empty", "(variable QUOTES__HTTP__BASE_URL)"),
        env="nobase",
    ),
]


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Path]:
    """Where the app's resources note that they opened."""
    yield tmp_path / "opened.log"


def jobframe(
    container: str,
    *args: str,
    opened: Path,
    env: dict[str, str] | None = None,
    module: str = "quotes",
    config: tuple[str, ...] = tuple(CONFIG),
) -> Ran:
    app = f"tests.app.apps.{module}:{container}"
    return run_cli(
        ["--app", app, *config, *args], cwd=REPO, env={"QUOTES_OPENED_LOG": str(opened), **(env or {})}
    )


def wiring_failed(ran: Ran, *needles: str) -> None:
    assert ran.code == 78, (ran.code, ran.stderr, ran.stdout[-2000:])
    lines = ran.stderr.strip().splitlines()
    assert lines[0] == "jobframe: error: wiring check failed:", ran.stderr
    for needle in needles:
        assert needle in ran.stderr, (needle, ran.stderr)
    assert "Traceback" not in ran.stderr + ran.stdout
    assert ran.events == [], "refused before anything is built or logged"


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.container)
def test_check_finds_the_fault_and_a_run_refuses_it_before_starting(fault: Fault, opened: Path) -> None:
    checked = jobframe(fault.container, "--check", "--env", fault.env, opened=opened)
    wiring_failed(checked, *fault.needles)
    ran = jobframe(fault.container, "--job-name", "FetchQuote", "--env", fault.env, opened=opened)
    wiring_failed(ran, *fault.needles)
    assert ran.stderr == checked.stderr, "a run refuses with what --check says"
    assert not opened.exists(), "nothing was opened"


def test_the_good_container_checks_clean(opened: Path) -> None:
    ran = jobframe("Good", "--check", opened=opened)
    assert (ran.code, ran.stdout) == (0, "ok: settings valid (local), 1 job wired: FetchQuote\n"), ran.stderr
    assert not opened.exists()


def test_a_container_without_jobs_is_a_warning_with_the_rule(opened: Path) -> None:
    ran = jobframe("NoJobs", "--check", opened=opened)
    assert ran.code == 0
    assert ran.stdout == "ok: settings valid (local), no jobs wired\n"
    assert ran.stderr.startswith(
        "jobframe: warning: NoJobs exposes no jobs: a job is a class with an execute()"
    )
    assert "providers.Factory(TheJob, ...) on the main container itself" in ran.stderr
    run = jobframe("NoJobs", "--job-name", "FetchQuote", opened=opened)
    assert run.code == 2 and "NoJobs exposes no jobs; a job is a class" in run.stderr


def test_a_misspelt_module_provider_names_the_users_line_and_the_modules_providers(opened: Path) -> None:
    for args in (["--check"], ["--job-name", "FetchQuote"]):
        ran = run_cli(["--app", "tests.app.apps.misspelt:MisspeltProvider", *CONFIG, *args])
        assert ran.code == 78, ran.stderr
        (line,) = ran.stderr.strip().splitlines()
        assert "no attribute 'clinet'" in line
        assert "the module provides: client, http_settings, service, settings" in line
        assert line.endswith(f"({APPS / 'misspelt.py'}:12)"), line
        assert ".pyx" not in line
        assert ran.events == []


def test_a_failure_only_a_build_can_see_is_78_and_what_opened_is_closed(opened: Path) -> None:
    assert jobframe("FailsWhileBuilding", "--check", opened=opened).code == 0  # beyond what --check sees
    ran = jobframe("FailsWhileBuilding", "--job-name", "FetchQuote", opened=opened)
    assert ran.code == 78
    finished = ran.one("job.finished")
    assert finished["error_type"] == "jobframe.errors.ConfigurationError"
    message = finished["error_message"]
    assert message.startswith("cannot build job FetchQuote: LookupError: no quote service configured")
    assert f"({APPS / 'quotes.py'}:" in message
    assert opened.read_text() == "quotes.client\n"
    assert ran.one("resource.closed")["resource"] == "quotes_network.client"


# -- network modules: the base URL, transport failures -------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("127.0.0.1:18765", "must be an http:// or https:// URL"),
        ("ftp://x", "must be an http:// or https:// URL (scheme 'ftp')"),
        ("http://", "must name a host"),
    ],
)
def test_a_base_url_that_is_not_http_is_78_naming_the_key_and_its_source(
    value: str, why: str, opened: Path
) -> None:
    for args in (["--check"], ["--job-name", "FetchQuote"]):
        ran = jobframe("Good", *args, opened=opened, env={"QUOTES__HTTP__BASE_URL": value})
        assert ran.code == 78
        (line,) = ran.stderr.strip().splitlines()
        assert "quotes.http.base_url: Value error, " + why in line
        assert "(from environment variable QUOTES__HTTP__BASE_URL)" in line
        assert ran.events == []
    assert not opened.exists()


def test_an_empty_base_url_from_the_environment_is_found_too(opened: Path) -> None:
    ran = jobframe("Good", "--check", opened=opened, env={"QUOTES__HTTP__BASE_URL": ""})
    wiring_failed(ran, "settings quotes.http.base_url: is empty")


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port nobody listens on, held so nobody else takes it: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the backlog does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_a_refused_connection_through_a_jobframe_client_is_retryable(
    refusing_port: int, opened: Path
) -> None:
    env = {"QUOTES__HTTP__BASE_URL": f"http://127.0.0.1:{refusing_port}"}
    ran = jobframe("Good", "--job-name", "FetchQuote", opened=opened, env=env)
    assert ran.code == 75, ran.stdout[-2000:]
    assert ran.one("job.finished")["error_type"] == "jobframe.http.retryable.ConnectError"


def test_a_timeout_through_a_jobframe_client_is_retryable(silent_port: int, opened: Path) -> None:
    env = {"QUOTES__HTTP__BASE_URL": f"http://127.0.0.1:{silent_port}", "QUOTES__HTTP__TIMEOUTS__READ": "0.3"}
    ran = jobframe("Good", "--job-name", "FetchQuote", opened=opened, env=env)
    assert ran.code == 75, ran.stdout[-2000:]
    assert ran.one("job.finished")["error_type"] == "jobframe.http.retryable.ReadTimeout"


def test_a_module_can_opt_out_of_retryable_transport_failures(refusing_port: int, opened: Path) -> None:
    env = {
        "QUOTES__HTTP__BASE_URL": f"http://127.0.0.1:{refusing_port}",
        "QUOTES__HTTP__RETRY_TRANSPORT_ERRORS": "false",
    }
    ran = jobframe("Good", "--job-name", "FetchQuote", opened=opened, env=env)
    assert ran.code == 1
    assert ran.one("job.finished")["error_type"] == "httpx.ConnectError"


# -- almost right: what a build decides from values known before the run (apps/almost.py) -------

ALMOST_CONFIG = ["--config-dir", str(APPS / "almost_config")]


def almost(container: str, *args: str, opened: Path) -> Ran:
    return jobframe(container, *args, opened=opened, module="almost", config=tuple(ALMOST_CONFIG))


def _almost(container: str, job: str, needles: tuple[str, ...], env: str = "local") -> Fault:
    return Fault(container, needles, env, job)


ALMOST = [
    _almost(
        "SelectorChoice",
        "CountItems",
        (
            "store: Selector chooses 'dsk' (settings store.kind), which it has no provider for "
            "(did you mean 'disk'?); its choices: disk, memory, remote",
        ),
        env="typo",
    ),
    _almost(
        "SyncJobAsyncResource",
        "CountItems",
        (
            "store: an async resource (open_async_store), reached by a sync execute(): "
            "make execute() async, or provide a sync resource",
        ),
    ),
    _almost("SyncJobCoroutine", "CountItems", ("store: an async provider (_make_store)",)),
    _almost(
        "InjectTypo",
        "CountInjected",
        (
            "count_injected: CountInjected.__init__(store): Provide['stor'] names no provider of InjectTypo "
            "(did you mean 'store'?)",
        ),
    ),
    _almost(
        "InjectNotWired",
        "CountInjectedWell",
        (
            "count_injected_well: CountInjectedWell.__init__(store): Provide['store'] is never injected: "
            "module tests.app.apps.almost is not wired (list it in InjectNotWired.wiring_config)",
        ),
    ),
    _almost("InjectUnfilled", "CountInjectedWell", ("store: dependency is not provided",)),
    _almost(
        "StrictConfiguration",
        "CountItems",
        (
            "config.store.where: undefined configuration option (jobframe loads settings into the app's "
            "Settings model, never into a providers.Configuration: use settings.provided...)",
        ),
    ),
    _almost(
        "UnloadedConfiguration",
        "CountItems",
        ("store: Store(where) is given config.store.where: undefined configuration option",),
    ),
]


@pytest.mark.parametrize("case", ALMOST, ids=lambda c: c.container)
def test_check_finds_what_a_build_would_decide_and_a_run_refuses_it(case: Fault, opened: Path) -> None:
    checked = almost(case.container, "--check", "--env", case.env, opened=opened)
    wiring_failed(checked, *(f"{case.job}: {n}" for n in case.needles))
    ran = almost(case.container, "--job-name", case.job, "--env", case.env, opened=opened)
    wiring_failed(ran, *case.needles)
    assert ran.stderr == checked.stderr, "a run refuses with what --check says"
    assert not opened.exists(), "nothing was opened"


@pytest.mark.parametrize(
    ("container", "job", "env", "result", "opened_log"),
    [
        ("SelectorChoice", "CountItems", "local", 6, None),  # the remote branch lacks a base URL: unused
        ("SelectorChoice", "CountItems", "disk", 4, "store\n"),
        ("GoodAsyncJobAsyncResource", "CountItemsAsync", "local", 5, "async_store\n"),
        ("GoodAsyncJobSyncResource", "CountItemsAsync", "local", 4, "store\n"),
        ("GoodInjected", "CountInjectedWell", "local", 4, "store\n"),
        ("GoodConfiguration", "CountItems", "local", 10, None),
    ],
)
def test_correct_apps_of_the_same_shapes_check_clean_and_run(
    container: str, job: str, env: str, result: int, opened_log: str | None, opened: Path
) -> None:
    checked = almost(container, "--check", "--env", env, opened=opened)
    assert (checked.code, checked.stderr) == (0, ""), checked.stderr
    assert checked.stdout == f"ok: settings valid ({env}), 1 job wired: {job}\n"
    assert not opened.exists(), "--check opens nothing"
    ran = almost(container, "--job-name", job, "--env", env, opened=opened)
    assert ran.code == 0, (ran.stderr, ran.stdout[-2000:])
    assert ran.one("job.finished")["result"] == result
    assert (opened.read_text() if opened.exists() else None) == opened_log


def test_job_names_that_differ_only_in_case_are_a_warning_and_each_runs_by_its_name(opened: Path) -> None:
    checked = almost("CaseOnly", "--check", opened=opened)
    assert checked.code == 0
    assert checked.stdout == "ok: settings valid (local), 2 jobs wired: CountItemS, CountItems\n"
    assert checked.stderr == (
        "jobframe: warning: jobs CountItemS and CountItems differ only in case: rename one "
        "(each runs by its exact --job-name only; Kubernetes names are lower-case, so "
        "jobframe-argo render may refuse them)\n"
    )
    assert almost("CaseOnly", "--job-name", "CountItemS", opened=opened).one("job.finished")["result"] == 0
    assert almost("CaseOnly", "--job-name", "CountItems", opened=opened).one("job.finished")["result"] == 1


def test_a_container_that_cannot_be_created_is_one_line_and_78(opened: Path) -> None:
    for args in (["--check"], ["--job-name", "CountItems"]):
        ran = almost("BrokenCreation", *args, opened=opened)
        assert ran.code == 78, (ran.stderr, ran.stdout[-2000:])
        (line,) = ran.stderr.strip().splitlines()
        assert line.startswith("jobframe: error: cannot create BrokenCreation: FileNotFoundError: "), line
        assert "absent.yml" in line
        assert "jobframe/_" not in line, "the place named is the app's, never jobframe's own"
        assert "Traceback" not in ran.stderr + ran.stdout
