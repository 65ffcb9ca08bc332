"""Fixtures for the ledger's tests: stores (SQLite in a temp dir, a real PostgreSQL server)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from jobframe.ledger import LedgerSettings, RunLedger
from tests.resume.pg import find_bindir, postgres_server


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A real server for the session (tests that use it are process-level: it is a process)."""
    if find_bindir() is None:
        if os.environ.get("JOBFRAME_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required here (JOBFRAME_REQUIRE_POSTGRES=1) but not installed")
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does)")
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.process)])
def store_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ledger_settings(store_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> LedgerSettings:
    """Settings for a fresh ledger in either store (a database per test for PostgreSQL)."""
    if store_name == "sqlite":
        return LedgerSettings(path=tmp_path / "ledger.sqlite3")
    dsn = request.getfixturevalue("postgres_dsn")
    return LedgerSettings(store="postgres", dsn=fresh_database(dsn, f"t{abs(hash(request.node.nodeid))}"))


def fresh_database(dsn: str, name: str) -> str:
    """Create database ``name`` on the server of ``dsn`` (dropping an old one); its DSN."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return dsn.replace("/postgres?", f"/{name}?")


def open_run(settings: LedgerSettings, key: str, **kw: object) -> RunLedger:
    """Open ``key`` as job ``Job``, fingerprint ``f1``; ``kw``: :meth:`RunLedger.open`'s other options."""
    options: dict[str, object] = {"job": "Job", "fingerprint": "f1", **kw}
    return RunLedger.open(settings, key=key, **options)  # type: ignore[arg-type]
