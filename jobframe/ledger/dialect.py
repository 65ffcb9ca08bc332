"""How the ledger reaches each database it can keep its tables in, and the little their SQL differs.

Both databases speak the same SQL here; a :class:`Dialect` holds the few differences: how to
connect, placeholders, how a transaction begins, how a migration is serialised between
processes, and the database's clock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from jobframe.errors import ConfigurationError
from jobframe.ledger.settings import LedgerSettings

__all__ = ["Connection", "Dialect", "postgres_dialect", "sqlite_dialect"]


class Connection(Protocol):
    """What a store needs of a DB-API connection (sqlite3's, psycopg's)."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Dialect:
    name: str
    connect: Callable[[], Connection]
    placeholder: str
    begin: str
    serialise_migration: str | None
    now: str
    """SQL for the database's clock in seconds since the epoch: leases expire by one clock."""

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


def sqlite_dialect(settings: LedgerSettings) -> Dialect:
    path = Path(settings.path)

    def connect() -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=settings.timeout, check_same_thread=False)
        _wal(conn, settings.timeout)  # readers never block the writer; shards can share a file
        synchronous = "FULL" if settings.durable_against == "power_loss" else "NORMAL"
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute(f"PRAGMA busy_timeout={int(settings.timeout * 1000)}")
        return conn

    return Dialect("sqlite", connect, "?", "BEGIN IMMEDIATE", None, _SQLITE_NOW)


_SQLITE_NOW = "((julianday('now') - 2440587.5) * 86400.0)"
_POSTGRES_NOW = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


def _wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL. Several processes opening a new file at once can find it locked, and SQLite
    does not wait on its busy handler for this pragma: retry, briefly, within ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)  # another opener holds the file for a moment: there is nothing to wait on
        pause = min(pause * 2, 0.1)


def postgres_dialect(settings: LedgerSettings) -> Dialect:
    try:
        import psycopg  # noqa: PLC0415 - optional: jobframe[postgres]
    except ImportError:
        raise ConfigurationError(
            "ledger store 'postgres' needs psycopg 3: pip install 'jobframe[postgres]'"
        ) from None
    assert settings.dsn is not None

    def connect() -> Connection:
        conn = psycopg.connect(
            settings.dsn.get_secret_value() if settings.dsn else "",
            autocommit=True,  # transactions are explicit (BEGIN/COMMIT), as with SQLite
            connect_timeout=max(int(settings.timeout), 1),
            options=f"-c statement_timeout={int(settings.timeout * 1000)}",
        )
        return conn

    # one migration at a time across every process that shares the database
    return Dialect(
        "postgres", connect, "%s", "BEGIN", "SELECT pg_advisory_xact_lock(7061726279)", _POSTGRES_NOW
    )
