"""The zoo's servers (once per session) and its runs (every selected case, several at a time).

The runs start when the first zoo test asks for them: every case the session selected runs once,
in parallel subprocesses (``runner.WORKERS``), and each test then reads its case's outcome — so the
four checks of a case share one run, and the whole zoo takes about a minute on 2 cores.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
from collections.abc import Iterator

import pytest

from tests.resume.pg import find_bindir, postgres_server
from tests.zoo.runner import Case, Outcome, Servers, run_all
from tests.zoo.servers import Sink, closed_port, grpc_echo, redis_server

_SELECTED = pytest.StashKey[set[Case]]()

# The module each library's case imports: without it (no `pip install -e ".[zoo]"`) the case skips.
MODULES = {
    "redis": "redis",
    "redis-async": "redis",
    "sqlalchemy-sqlite": "sqlalchemy",
    "sqlalchemy-postgres": "psycopg",
    "requests": "requests",
    "aiohttp": "aiohttp",
    "slack-sdk": "slack_sdk",
    "boto3": "boto3",
    "grpc-channel": "grpc",
    "grpc-server": "grpc",
    "opentelemetry": "opentelemetry.exporter.otlp.proto.http",
    "sentry-sdk": "sentry_sdk",
    "apscheduler": "apscheduler",
    "pymongo": "pymongo",
    "elasticsearch": "elasticsearch",
    "bigquery": "google.cloud.bigquery",
    "confluent-kafka": "confluent_kafka",
    "confluent-kafka-stuck": "confluent_kafka",
    "kafka-python": "kafka",
    "joblib": "joblib",  # test_parallel.py: loky's workers and resource tracker
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def missing(lib: str) -> str | None:
    """Why ``lib``'s case cannot run here, or ``None`` (always ``None`` with
    ``JOBFRAME_REQUIRE_ZOO=1``, as in CI: a missing library or server fails instead of skipping)."""
    if os.environ.get("JOBFRAME_REQUIRE_ZOO") == "1":
        return None
    module = MODULES.get(lib)
    if module and not _installed(module):
        return f"{module} is not installed: pip install -e '.[zoo]'"
    if lib.startswith("redis") and shutil.which("redis-server") is None:
        return "redis-server is not installed: bash .ci/redis"
    if lib == "sqlalchemy-postgres" and find_bindir() is None:
        return "PostgreSQL is not installed: bash .ci/postgres"
    return None


@pytest.hookimpl(trylast=True)  # after -m, -k and --process have deselected what they will
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected: set[Case] = set()
    for item in items:
        callspec = getattr(item, "callspec", None)
        for name in ("case", "plain"):
            case = callspec.params.get(name) if callspec else None
            if isinstance(case, Case):
                selected.add(case)
    config.stash[_SELECTED] = selected


@pytest.fixture(scope="session")
def zoo_servers() -> Iterator[Servers]:
    if not _installed("grpc") or not _installed("opentelemetry.proto"):
        pytest.skip("the zoo's libraries are not installed: pip install -e '.[zoo]'")
    with contextlib.ExitStack() as stack:
        sink = Sink()
        stack.callback(sink.close)
        redis = stack.enter_context(redis_server()) if shutil.which("redis-server") else None
        postgres = stack.enter_context(postgres_server()) if find_bindir() else None
        grpc_address, grpc_calls = stack.enter_context(grpc_echo())
        closed = stack.enter_context(closed_port())
        yield Servers(sink, redis, postgres, grpc_address, grpc_calls, closed)


@pytest.fixture(scope="session")
def zoo_runs(request: pytest.FixtureRequest, zoo_servers: Servers) -> dict[Case, Outcome]:
    cases = sorted(request.config.stash.get(_SELECTED, set()), key=lambda c: c.id)
    return run_all([case for case in cases if missing(case.lib) is None], zoo_servers)
