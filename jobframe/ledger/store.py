"""One store of the ledger's tables, in SQLite or PostgreSQL: its connection and its transactions.

What each table holds and how it is read and written has a module of its own — :mod:`.runs`,
:mod:`.batches`, :mod:`.earlier` (earlier runs of the same input) — and the tables themselves are
in :mod:`.schema`; how each database is reached, in :mod:`.dialect`. Rows are keyed by run key,
so shards — each with its own key — never touch each other's rows.

A store is used by one thread at a time (the ledger's writer, :mod:`jobframe.ledger.writer`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from jobframe.ledger.dialect import Dialect, postgres_dialect, sqlite_dialect
from jobframe.ledger.failures import classify
from jobframe.ledger.runs import Reach, RunRow
from jobframe.ledger.schema import MIGRATIONS, migrate, now_text
from jobframe.ledger.settings import LedgerSettings
from jobframe.ledger.sqlite_integrity import check_sqlite, last_commit

__all__ = ["MIGRATIONS", "Lead", "Reach", "RunRow", "Store", "describe", "now_text", "open_store"]


class Lead(Protocol):
    """A statement that opens a transaction with its ``BEGIN`` — one round trip to PostgreSQL, not
    two — and is checked before the transaction's work (the lease's fenced renewal)."""

    def statement(self) -> tuple[str, tuple[Any, ...]]: ...

    def check(self, cursor: Any) -> None: ...


class Store:
    """A connection to the database that holds the ledger's tables, and the transactions the table
    modules' functions run in."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._conn = dialect.connect()
        self.created = False
        """Whether this connection created the ledger's tables (there were none: a new or lost store)."""

    @property
    def name(self) -> str:
        return self.dialect.name

    def execute(self, sql: str, *params: Any) -> Any:
        """Run one statement (``?`` placeholders, ``{now}`` for the database's clock); its cursor."""
        return self._conn.execute(self.dialect.sql(sql).replace("{now}", self.dialect.now), params)

    def transaction(self, work: Callable[[Store], Any], *, lead: Lead | None = None) -> Any:
        """Run ``work`` in one transaction; committed when it returns, rolled back if it raises.

        ``lead``'s statement runs first, sent with the ``BEGIN`` where the database allows."""
        try:
            cursor = self._begin(lead)
        except BaseException:
            with contextlib.suppress(Exception):  # a BEGIN that went through must not stay open
                self._conn.execute("ROLLBACK")
            raise
        try:
            if lead is not None:
                lead.check(cursor)
            result = work(self)
        except BaseException:
            with contextlib.suppress(Exception):  # a broken connection: its error is the one raised
                self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):  # a COMMIT that failed must not keep the write lock
                self._conn.execute("ROLLBACK")
            raise
        return result

    def _begin(self, lead: Lead | None) -> Any:
        if lead is None:
            self._conn.execute(self.dialect.begin)
            return None
        text, params = lead.statement()
        if self.dialect.name != "postgres":  # in-process: nothing to save
            self._conn.execute(self.dialect.begin)
            return self.execute(text, *params)
        from psycopg import sql  # noqa: PLC0415 - the postgres store only

        # one simple query, two statements: its values quoted by psycopg as literals
        composed = sql.SQL(
            f"{self.dialect.begin}; " + text.replace("{now}", self.dialect.now).replace("?", "{}")
        )
        cursor = self._conn.execute(composed.format(*(sql.Literal(p) for p in params)))  # type: ignore[arg-type]
        cursor.nextset()
        return cursor

    def close(self) -> None:
        self._conn.close()

    def ensure_connected(self) -> None:
        """Connect again if the connection broke (a PostgreSQL server that restarted or went away);
        raises the connection's error while the store stays unreachable."""
        if getattr(self._conn, "closed", False) or getattr(self._conn, "broken", False):
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = self.dialect.connect()


def open_store(settings: LedgerSettings) -> Store:
    """Connect, check and migrate. A store that is briefly unavailable is retryable (75); one that
    cannot work as configured, or a damaged SQLite file, is a configuration error (78)."""
    dialect = postgres_dialect(settings) if settings.store == "postgres" else sqlite_dialect(settings)
    store: Store | None = None
    committed = None
    try:
        # what the WAL index says was committed, read before SQLite opens (and rebuilds) it
        committed = last_commit(Path(settings.path)) if settings.store == "sqlite" else None
        store = Store(dialect)
        if settings.store == "sqlite":
            check = lambda opened: check_sqlite(opened, Path(settings.path), committed)  # noqa: E731
            store.transaction(check)  # write-locked
        migrate(store)
    except Exception as exc:  # noqa: BLE001 - sqlite3/psycopg errors: one line, never the DSN
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()
        raise classify(
            exc, f"ledger: cannot open {describe(settings)}: {type(exc).__name__}: {_message(exc, settings)}"
        ) from None
    finally:
        if committed is not None:
            committed.close()
    return store


def describe(settings: LedgerSettings) -> str:
    """Where the ledger is, for a message (never the DSN)."""
    return str(settings.path) if settings.store == "sqlite" else "the PostgreSQL server"


def _message(exc: BaseException, settings: LedgerSettings) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"no answer within {settings.timeout:g} s"
    first = _first_line(exc) if isinstance(exc, Exception) else str(exc)
    return first if settings.store == "sqlite" else _without_dsn(first, settings)


def _without_dsn(message: str, settings: LedgerSettings) -> str:
    """``message`` unless it could carry the password: libpq quotes a malformed connection string
    back, so then a fixed text. Server answers (refused, no such host, authentication) stay."""
    hidden = "the connection string was refused (not shown: it may hold a password)"
    dsn = settings.dsn.get_secret_value() if settings.dsn else ""
    try:
        from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - the postgres store only

        password = str(conninfo_to_dict(dsn).get("password") or "")
    except Exception:  # noqa: BLE001 - malformed: its text may be in the message, in any part
        return hidden
    raw = urlsplit(dsn).password if "://" in dsn else None  # as written, %-encoded
    if any(secret and secret in message for secret in (password, raw)):
        return hidden
    return message


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0]
