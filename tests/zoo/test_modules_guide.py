"""docs/modules.md runs: its example project is written out, its unit tests run, and every job
runs as a real jobframe process against a real Redis, PostgreSQL, gRPC server and HTTP stubs, and
against closed ports for MongoDB, BigQuery, Elasticsearch and Kafka.

For each job: the documented exit code (a closed port is the job's failure, 1), every client
closed by its resource (``resource.closed``, no ``resource.unmanaged``, no ``teardown.timeout``),
a failure reached within the recipe's own timeout, and the exit within a clean job's bound after
``job.finished`` (plus the Kafka flush bound). What the jobs sent arrived.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.docs.guide import parse, run
from tests.lifecycle.jobproc import JobProcess
from tests.zoo.runner import Servers

pytestmark = [pytest.mark.process, pytest.mark.zoo]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "modules.md"
TOKEN = "modules-guide"
SLACK_S = 1.0  # a loaded CI machine's margin on every bound
CLEAN_EXIT_S = 0.5  # docs/lifecycle.md: a clean job exits within 0.5 s of job.finished
KAFKA_FLUSH_S = 3.0  # KafkaSettings.flush_timeout's default, as the recipe leaves it
TIMEOUT_S = 1.0  # the failing recipes' timeouts, set through their settings for a quick run


@dataclass(frozen=True)
class Expect:
    code: int
    resources: tuple[str, ...]  # closed after the run, by provider name
    fails_within: float | None = None  # a closed port: the job fails within its timeout


JOBS = {
    "SyncOrders": Expect(0, ("orders.client",)),
    "CountOpenOrders": Expect(1, ("mongo",), fails_within=TIMEOUT_S),
    "DailyRevenue": Expect(1, ("bigquery",), fails_within=TIMEOUT_S),
    "CountProducts": Expect(1, ("search",), fails_within=TIMEOUT_S),
    "WarmCache": Expect(0, ("redis",)),
    "PostDigest": Expect(0, ("slack",)),
    "CountUsers": Expect(0, ("db",)),
    "PublishOrderEvents": Expect(0, ("kafka.producer",)),
    "ExportReport": Expect(0, ("s3",)),
    "CheckInventory": Expect(0, ("inventory",)),
}


def test_every_block_of_the_guide_is_a_file_or_a_command() -> None:
    guide = parse(GUIDE.read_text())
    recipes = {"orders", "mongo", "bigquery", "search", "redis", "slack", "database", "events", "s3", "grpc"}
    assert {f"shop/{name}.py" for name in recipes} <= set(guide.files)
    assert {f"tests/test_{name}.py" for name in recipes} <= set(guide.files)
    assert [c.line for c in guide.commands] == ["pytest"]
    assert len(JOBS) == len(recipes)


def _environment(servers: Servers) -> dict[str, str]:
    closed = f"127.0.0.1:{servers.closed}"
    assert servers.redis and servers.postgres, "the guide needs redis-server and PostgreSQL"
    return {
        "ORDERS__BASE_URL": servers.sink.url(TOKEN),
        "MONGO__URL": f"mongodb://{closed}",
        "MONGO__TIMEOUT": str(TIMEOUT_S),
        "BIGQUERY__API_ENDPOINT": f"http://{closed}",
        "BIGQUERY__ANONYMOUS": "true",
        "BIGQUERY__TIMEOUT": str(TIMEOUT_S),
        "SEARCH__URL": f"http://{closed}",
        "SEARCH__TIMEOUT": str(TIMEOUT_S),
        "REDIS__URL": servers.redis,
        "SLACK__TOKEN": "xoxb-guide",
        "SLACK__BASE_URL": f"{servers.sink.url(TOKEN)}/api/",
        "DB__URL": servers.postgres.replace("postgresql://", "postgresql+psycopg://", 1),
        "KAFKA__BOOTSTRAP_SERVERS": closed,
        "S3__ENDPOINT_URL": servers.sink.url(TOKEN),
        "AWS_ACCESS_KEY_ID": "guide",
        "AWS_SECRET_ACCESS_KEY": "guide-secret",
        "GRPC__TARGET": servers.grpc,
    }


def _run_job(project: Path, job: str, env: dict[str, str]) -> JobProcess:
    cmd = [sys.executable, "-m", "jobframe", "--app", "shop.container:MainContainer", "--job-name", job]
    proc = JobProcess(job, cmd=[*cmd, "--log-format", "json"], env=env, cwd=project)
    try:
        proc.wait(60)
    finally:
        proc.kill()
    return proc


@pytest.fixture(scope="module")
def guide_runs(zoo_servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The guide's project, its unit tests run, then every job run as a process (four at a time)."""
    import psycopg

    project = tmp_path_factory.mktemp("shop")
    ran = run(parse(GUIDE.read_text()), project, sys.executable)
    assert ran == ["pytest"]
    assert zoo_servers.postgres is not None
    with psycopg.connect(zoo_servers.postgres, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS users")
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('ada'), ('grace')")
    env = _environment(zoo_servers)
    with ThreadPoolExecutor(max_workers=4) as pool:
        procs = dict(zip(JOBS, pool.map(lambda job: _run_job(project, job, env), JOBS), strict=True))
    return procs


def _line_at(proc: JobProcess, event: str) -> float:
    return next(line.at for line in proc.lines if line.event and line.event.get("event") == event)


@pytest.mark.parametrize("job", JOBS)
def test_each_recipe_runs_as_a_job_and_closes_its_client(guide_runs: dict[str, Any], job: str) -> None:
    proc: JobProcess = guide_runs[job]
    expect = JOBS[job]
    assert proc.proc.returncode == expect.code, proc.output
    closed = [e.get("resource") for e in proc.named("resource.closed")]
    assert closed == list(expect.resources), proc.output
    assert proc.named("resource.unmanaged") == [] and proc.named("teardown.timeout") == [], proc.output
    assert proc.named("process.lingering") == [], proc.output
    finished = _line_at(proc, "job.finished")
    if expect.fails_within is not None:
        took = finished - _line_at(proc, "job.started")
        assert took <= expect.fails_within * 2 + SLACK_S, f"{job} failed after {took:.2f}s:\n{proc.output}"
    bound = CLEAN_EXIT_S + SLACK_S + (KAFKA_FLUSH_S if job == "PublishOrderEvents" else 0.0)
    assert proc.exited_at is not None and proc.exited_at - finished <= bound, proc.output


def test_what_the_jobs_sent_arrived(guide_runs: dict[str, Any], zoo_servers: Servers) -> None:
    import redis

    assert zoo_servers.sink.count(TOKEN, "GET orders") == 1
    assert zoo_servers.sink.count(TOKEN, "slack") == 1
    assert zoo_servers.sink.count(TOKEN, "s3") == 1
    assert zoo_servers.grpc_calls[b"sku-1"] == 1
    assert zoo_servers.redis is not None
    with redis.Redis.from_url(zoo_servers.redis) as client:
        assert client.get("products:warm") == b"1"
    users: JobProcess = guide_runs["CountUsers"]
    assert users.one("job.finished").get("status") == "succeeded"


def test_the_kafka_close_counts_what_it_could_not_deliver(guide_runs: dict[str, Any]) -> None:
    proc: JobProcess = guide_runs["PublishOrderEvents"]
    (undelivered,) = proc.named("kafka.undelivered")
    assert undelivered["queued"] + undelivered["failed"] == 3, proc.output
