"""What a run loads: nothing it does not use, and the collector back on before the job is built.

Each module below costs a start that never needs it (prometheus-client ~7 ms of CPU, the ledger's
store and ``sqlite3``, OpenTelemetry ~80 ms...): docs/benchmarks.md, "Startup". These tests run
real ``python -m jobframe`` processes with :mod:`tests.cli.imports_probe`, which lists the loaded
modules as the process ends, so a later import at module level anywhere fails here by name.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.imports_probe import MARK
from tests.conftest import Ran, run_cli
from tests.observe.gateway import closed_port_url

pytestmark = pytest.mark.process

TRIVIAL = ["--app", "tests.cli.imports_probe:Trivial", "--job-name", "Noop"]
SOME_JOB = ["--app", "tests.cli.imports_probe:Default", "--job-name", "SomeJob"]

NEVER_WITHOUT_ASKING = {
    "prometheus_client",  # --pushgateway
    "jobframe.observe.pushgateway",
    "http.server",  # what prometheus-client's import brings along
    "wsgiref",
    "opentelemetry",  # OTEL_* variables
    "sqlite3",  # --run-key
    "psycopg",
    "jobframe.ledger.store",
    "jobframe.ledger.writer",
    "jobframe.ledger.fanout",  # --run-key: the fan-out's lookups, made by a ledger's calls
    "jobframe.argo",  # jobframe-argo
    "jobframe.scaffold",  # jobframe new
    "jobframe.testing",  # tests
    "difflib",  # an unknown job name
}
"""Loaded only when the run asks for what they do (the comment)."""


def loaded(ran: Ran) -> set[str]:
    assert ran.code == 0, ran.stdout + ran.stderr
    (line,) = [line for line in ran.stderr.splitlines() if line.startswith(MARK)]
    return set(json.loads(line[len(MARK) :])["loaded"])


def test_the_trivial_job_loads_no_module_it_does_not_use() -> None:
    found = loaded(run_cli(TRIVIAL))
    assert found == set(), f"the trivial job loaded {sorted(found)}"  # not even jobframe.braze/.ledger


def test_some_job_loads_braze_but_nothing_it_was_not_asked_for() -> None:
    found = loaded(run_cli(SOME_JOB))
    assert "jobframe.braze" in found  # the probe sees what a run loads: the job's own client
    assert found & NEVER_WITHOUT_ASKING == set(), sorted(found & NEVER_WITHOUT_ASKING)


def test_pushgateway_loads_prometheus_client_only_when_asked_for() -> None:
    ran = run_cli([*SOME_JOB, "--pushgateway", closed_port_url()])  # nothing listens: logged, exit 0
    found = loaded(ran)
    assert {"prometheus_client", "jobframe.observe.pushgateway"} <= found
    assert ran.named("metrics.push_failed"), ran.stdout
    others = NEVER_WITHOUT_ASKING - {
        "prometheus_client",
        "jobframe.observe.pushgateway",
        "http.server",
        "wsgiref",
    }
    assert found & others == set(), sorted(found & others)


def test_the_job_runs_with_the_collector_on_and_the_startup_modules_frozen() -> None:
    """The collector is paused while modules load (jobframe/_process/collector.py), never while a job runs."""
    finished = run_cli(TRIVIAL).one("job.finished")
    assert finished["result"]["gc_enabled"] is True
    assert finished["result"]["gc_frozen"] > 10_000  # the imports: out of every later collection
