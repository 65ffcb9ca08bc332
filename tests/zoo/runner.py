"""Run the zoo's cases as real processes — jobframe and plain Python — several at a time.

A case is a library and a shape (``inline``, ``held``, ``managed``; see ``apps/zooapp.py``). Each
run gets a token of its own, so what it delivered (to the sink, Redis, PostgreSQL, the gRPC echo)
is told apart from every other run's, and runs can share the servers and go in parallel.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.lifecycle.jobproc import REPO, JobProcess
from tests.zoo.servers import Sink

APPS = Path(__file__).resolve().parent / "apps"
SHAPES = ("inline", "held", "managed")
JOB = {"inline": "Inline", "held": "Held", "managed": "Managed"}

SHUTDOWN_TIMEOUT = 2.0
EXIT_GRACE = 3.0  # longer than a clean exit's bound, so a run that waits for it is told apart
FLAGS = ("--shutdown-timeout", str(SHUTDOWN_TIMEOUT), "--exit-grace", str(EXIT_GRACE))
WORKERS = 4  # runs at once: most of a run is waiting on imports and sockets, not CPU

_tokens = itertools.count(int.from_bytes(os.urandom(2), "big") * 1000 + 100_000)


@dataclass(frozen=True)
class Case:
    lib: str
    shape: str
    plain: bool = False  # plain Python instead of jobframe
    timeout: float | None = None  # jobframe's --timeout (seconds from the process's start)

    @property
    def id(self) -> str:
        timeout = f"-timeout{self.timeout:g}" if self.timeout is not None else ""
        return f"{self.lib}-{self.shape}" + ("-plain" if self.plain else "") + timeout


@dataclass
class Servers:
    sink: Sink
    redis: str | None
    postgres: str | None
    grpc: str
    grpc_calls: Counter[bytes]
    closed: int


@dataclass
class Outcome:
    """What one run did: its exit code, how long it took to exit after ``job.finished``, its log
    events and what it delivered."""

    case: Case
    code: int
    latency: float | None  # seconds from job.finished (read from the pipe) to the reaped exit
    events: list[dict[str, Any]]
    output: str
    delivered: int
    read_at: list[float] = field(default_factory=list)  # when each of ``events`` was read
    exited_wall: float | None = None  # wall-clock time the process was reaped

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]

    def at(self, event: str) -> float:
        """When the first ``event`` line was read from the process's stdout (monotonic seconds)."""
        return self.read_at[next(i for i, e in enumerate(self.events) if e.get("event") == event)]


def _delivered(lib: str, token: str, servers: Servers, workdir: Path) -> int:
    """How many of the run's writes arrived where they were sent (0 if none)."""
    if lib in ("redis", "redis-async") and servers.redis:
        import redis

        with redis.Redis.from_url(servers.redis) as client:
            return int(client.get(f"zoo:{token}") == b"written")
    if lib == "sqlalchemy-sqlite":
        db = workdir / "zoo.db"
        if not db.exists():
            return 0
        with sqlite3.connect(db) as conn:
            return int(conn.execute(f"SELECT count(*) FROM zoo_{token}").fetchone()[0])
    if lib == "sqlalchemy-postgres" and servers.postgres:
        import psycopg

        with psycopg.connect(servers.postgres) as conn:
            return int(conn.execute(f"SELECT count(*) FROM zoo_{token}").fetchone()[0])  # type: ignore[index]
    if lib == "grpc-channel":
        return servers.grpc_calls[token.encode()]
    kind = {
        "requests": "get",
        "aiohttp": "get",
        "slack-sdk": "slack",
        "boto3": "s3",
        "opentelemetry": "span",
        "sentry-sdk": "event",
    }.get(lib)
    return servers.sink.count(token, kind) if kind else 0


def run_case(case: Case, servers: Servers) -> Outcome:
    token = str(next(_tokens))
    with tempfile.TemporaryDirectory(prefix="jobframe-zoo-") as tmp:
        workdir = Path(tmp)
        env = {
            "ZOO_LIB": case.lib,
            "ZOO_TOKEN": token,
            "ZOO_SINK": servers.sink.url(token),
            "ZOO_GRPC": servers.grpc,
            "ZOO_CLOSED": str(servers.closed),
            "ZOO_DIR": str(workdir),
            "ZOO_REDIS": servers.redis or "",
            "ZOO_PG": servers.postgres or "",
        }
        if case.plain:
            cmd = [sys.executable, "-m", "tests.zoo.plain", case.shape]
            proc = JobProcess(case.shape, cmd=cmd, env=env, cwd=REPO)
        else:
            flags = (*FLAGS, "--timeout", str(case.timeout)) if case.timeout is not None else FLAGS
            proc = JobProcess(JOB[case.shape], *flags, env=env, cwd=APPS, app="zooapp:Container")
        try:
            code = proc.wait(60)
        finally:
            proc.kill()
        finished = [line for line in proc.lines if line.event and line.event.get("event") == "job.finished"]
        latency = proc.exited_at - finished[0].at if finished and proc.exited_at else None
        return Outcome(
            case=case,
            code=code,
            latency=latency,
            events=[line.event for line in proc.lines if line.event is not None],
            read_at=[line.at for line in proc.lines if line.event is not None],
            output=proc.output,
            delivered=_delivered(case.lib, token, servers, workdir),
            exited_wall=proc.exited_wall,
        )


def run_all(cases: list[Case], servers: Servers, workers: int = WORKERS) -> dict[Case, Outcome]:
    """Every case, ``workers`` at a time; a case whose run raised is reported by its test."""
    results: dict[Case, Outcome] = {}

    def one(case: Case) -> None:
        try:
            results[case] = run_case(case, servers)
        except AssertionError as exc:  # a hung run: its tests fail with this output
            results[case] = Outcome(case, -1, None, [], str(exc), 0)

    run: Callable[[Case], None] = one
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, cases))
    return results
