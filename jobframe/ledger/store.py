"""The ledger's tables, and one store that keeps them in SQLite or PostgreSQL.

Both databases speak the same SQL here; a :class:`Dialect` holds the few differences (how to
connect, placeholders, how a migration is serialised between processes). jobframe creates and
migrates its tables itself (``jobframe_ledger_*``, version in ``jobframe_ledger_schema``). Rows are
keyed by run key, so shards — each with its own key — never touch each other's rows.

A store is used by one thread at a time (the ledger's writer, :mod:`jobframe.ledger.writer`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from jobframe.errors import ConfigurationError
from jobframe.ledger.failures import classify
from jobframe.ledger.policy import BatchState
from jobframe.ledger.settings import LedgerSettings
from jobframe.ledger.sqlite_integrity import check_sqlite, last_commit

__all__ = ["MIGRATIONS", "Reach", "RunRow", "Store", "open_store"]

MIGRATIONS: list[list[str]] = [
    [  # version 1
        """CREATE TABLE IF NOT EXISTS jobframe_ledger_runs (
            run_key TEXT PRIMARY KEY, job TEXT NOT NULL, fingerprint TEXT NOT NULL,
            status TEXT NOT NULL, attempts INTEGER NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS jobframe_ledger_streams (
            run_key TEXT NOT NULL, stream INTEGER NOT NULL, endpoint TEXT NOT NULL,
            fingerprint TEXT, PRIMARY KEY (run_key, stream))""",
        """CREATE TABLE IF NOT EXISTS jobframe_ledger_batches (
            run_key TEXT NOT NULL, stream INTEGER NOT NULL, batch INTEGER NOT NULL,
            state TEXT NOT NULL, items TEXT NOT NULL, size INTEGER NOT NULL, digest TEXT NOT NULL,
            updated_at TEXT NOT NULL, PRIMARY KEY (run_key, stream, batch))""",
    ],
    [  # version 2: one holder per run key (jobframe.ledger.lease); finding an earlier run of an input
        "ALTER TABLE jobframe_ledger_runs ADD COLUMN owner TEXT",
        "ALTER TABLE jobframe_ledger_runs ADD COLUMN fence BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE jobframe_ledger_runs ADD COLUMN lease_expires DOUBLE PRECISION",
        "ALTER TABLE jobframe_ledger_streams ADD COLUMN input_fingerprint TEXT",
        "CREATE INDEX IF NOT EXISTS jobframe_ledger_streams_input ON jobframe_ledger_streams (fingerprint)",
    ],
    [  # version 3: a sharded call's input without its shard's index (a resubmitted fan-out)
        "ALTER TABLE jobframe_ledger_streams ADD COLUMN fanout TEXT",
        "CREATE INDEX IF NOT EXISTS jobframe_ledger_streams_fanout ON jobframe_ledger_streams (fanout)",
    ],
]
"""Each version's statements, applied in order; the schema table says how far a database is."""


def now_text() -> str:
    """The time a row changed, as ISO 8601 text (for people reading the tables)."""
    return _now()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Connection(Protocol):
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


@dataclass(frozen=True)
class RunRow:
    key: str
    job: str
    fingerprint: str
    status: str
    attempts: int
    owner: str | None = None
    """The attempt holding the run's lease (``host:pid:…``), if any."""
    lease_left: float | None = None
    """Seconds until that lease expires (negative: expired), by the database's clock."""


class Reach(NamedTuple):
    """What a run's recorded requests reached, by :meth:`Store.reached`."""

    delivered: int
    """Objects listed in batches answered 2xx."""
    unconfirmed: int
    """Objects listed in batches started and never answered (ambiguous: maybe reached)."""
    audience_requests: int
    """Requests delivered or started that listed no object: sends to a segment, an audience or
    everyone, which reach users Braze resolves and the ledger cannot count."""


class Lead(Protocol):
    """A statement that opens a transaction with its ``BEGIN`` — one round trip to PostgreSQL, not
    two — and is checked before the transaction's work (the lease's fenced renewal)."""

    def statement(self) -> tuple[str, tuple[Any, ...]]: ...

    def check(self, cursor: Any) -> None: ...


_HELD = "CASE WHEN r.owner IS NOT NULL AND r.lease_expires > {now} THEN 1 ELSE 0 END"
"""Whether run ``r``'s lease is held (an attempt is running under its key)."""


def _sent_the_call(where: str) -> str:
    """Runs ``r`` under other keys whose call (stream ``?``, endpoint ``?``; not key ``?``; job ``?``)
    read the input ``where`` names and reached someone, or that are sending it now (a live lease:
    they may not have recorded a batch yet): key, objects reached, live, batches, last change."""
    return (
        f"SELECT r.run_key, COALESCE(SUM(b.size), 0) AS reached, MAX({_HELD}) AS live,"  # noqa: S608 - no input
        " COUNT(b.batch) AS sent, r.updated_at FROM jobframe_ledger_streams s"
        " JOIN jobframe_ledger_runs r ON r.run_key = s.run_key"
        " LEFT JOIN jobframe_ledger_batches b ON b.run_key = s.run_key AND b.stream = s.stream"
        " AND b.state IN ('delivered', 'started')"
        f" WHERE s.stream = ? AND s.endpoint = ? AND s.run_key <> ? AND r.job = ? AND {where}"
        f" GROUP BY r.run_key, r.updated_at HAVING COUNT(b.batch) > 0 OR MAX({_HELD}) = 1"
    )


_FANOUT = "rtrim({key}, '0123456789')"
"""The fan-out a shard's key ``<fan-out>-<digits>`` names, with its ``-``: the key without its digits."""
_NAMES_A_FANOUT = (
    f"substr({_FANOUT}, length({_FANOUT}), 1) = '-'"
    f" AND length({_FANOUT}) > 1 AND length({_FANOUT}) < length({{key}})"
)
"""Whether ``key`` names a fan-out: a ``-`` before digits, with something before it."""


class Store:
    """The ledger's rows in one database; every method runs in the caller's transaction."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._conn = dialect.connect()
        self.created = False
        """Whether this connection created the ledger's tables (there were none: a new or lost store)."""

    @property
    def name(self) -> str:
        return self.dialect.name

    def _run(self, sql: str, *params: Any) -> Any:
        return self._conn.execute(self.dialect.sql(sql).replace("{now}", self.dialect.now), params)

    def execute(self, sql: str, *params: Any) -> Any:
        """Run one statement (``?`` placeholders, ``{now}`` for the database's clock); its cursor."""
        return self._run(sql, *params)

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
            return self._run(text, *params)
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

    # -- schema ----------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Create or bring the tables up to date (serialised between processes); returns the version."""

        def work(store: Store) -> int:
            if store.dialect.serialise_migration:
                store._conn.execute(store.dialect.serialise_migration)
            store._run("CREATE TABLE IF NOT EXISTS jobframe_ledger_schema (version INTEGER NOT NULL)")
            row = store._run("SELECT MAX(version) FROM jobframe_ledger_schema").fetchone()
            version = int(row[0]) if row and row[0] is not None else 0
            store.created = version == 0
            if version > len(MIGRATIONS):
                raise ConfigurationError(
                    f"ledger: its schema is version {version}, newer than this jobframe knows "
                    f"({len(MIGRATIONS)}): a newer jobframe wrote it; run that version (or a newer one)"
                )
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    store._run(statement)
                store._run("INSERT INTO jobframe_ledger_schema (version) VALUES (?)", number)
            return len(MIGRATIONS)

        return int(self.transaction(work))

    # -- runs ------------------------------------------------------------------------------------

    def run(self, key: str) -> RunRow | None:
        row = self._run(
            "SELECT run_key, job, fingerprint, status, attempts, owner, lease_expires - {now}"
            " FROM jobframe_ledger_runs WHERE run_key = ?",
            key,
        ).fetchone()
        if row is None:
            return None
        left = None if row[6] is None else float(row[6])
        return RunRow(row[0], row[1], row[2], row[3], int(row[4]), row[5], left)

    def start_attempt(self, key: str, job: str, fingerprint: str) -> RunRow:
        """The run's row, created on its first attempt; ``attempts`` counts this one."""
        now = _now()
        self._run(
            "INSERT INTO jobframe_ledger_runs"
            " (run_key, job, fingerprint, status, attempts, created_at, updated_at)"
            " VALUES (?, ?, ?, 'open', 0, ?, ?) ON CONFLICT (run_key) DO NOTHING",
            key, job, fingerprint, now, now,
        )  # fmt: skip
        self._run(
            "UPDATE jobframe_ledger_runs SET attempts = attempts + 1, updated_at = ? WHERE run_key = ?",
            now,
            key,
        )
        found = self.run(key)
        assert found is not None
        return found

    def register(self, key: str) -> bool:
        """Record ``key`` as a run no attempt has opened yet (``registered``: no job, fingerprint or
        lease, 0 attempts); whether it was new — a key already registered or started stays as it is."""
        now = _now()
        cursor = self._run(
            "INSERT INTO jobframe_ledger_runs"
            " (run_key, job, fingerprint, status, attempts, created_at, updated_at)"
            " VALUES (?, '', '', 'registered', 0, ?, ?) ON CONFLICT (run_key) DO NOTHING",
            key, now, now,
        )  # fmt: skip
        return bool(cursor.rowcount == 1)

    def holds_runs(self) -> bool:
        """Whether any run is recorded here (an emptied store holds none)."""
        return self._run("SELECT 1 FROM jobframe_ledger_runs LIMIT 1").fetchone() is not None

    def abandon(self, key: str) -> None:
        """Close ``key`` by hand: every later attempt is refused, and the lease is taken from the
        attempt holding it (its fence raised), so it records and sends nothing more and its end
        cannot write its own status over this one."""
        self._run(
            "UPDATE jobframe_ledger_runs SET status = 'abandoned', owner = NULL, lease_expires = NULL,"
            " fence = fence + 1, updated_at = ? WHERE run_key = ?",
            _now(), key,
        )  # fmt: skip

    def forget_batches(self, key: str) -> None:
        """Delete what ``key``'s calls recorded, keeping its row (and lease): a fresh run."""
        for table in ("jobframe_ledger_batches", "jobframe_ledger_streams"):
            self._run(f"DELETE FROM {table} WHERE run_key = ?", key)  # noqa: S608 - table names are ours

    def restart(self, key: str, job: str, fingerprint: str) -> None:
        """Make ``key``'s row a new run of ``job`` with ``fingerprint`` (its lease stays as it is)."""
        self._run(
            "UPDATE jobframe_ledger_runs SET job = ?, fingerprint = ?, status = 'open', attempts = 1,"
            " updated_at = ? WHERE run_key = ?",
            job, fingerprint, _now(), key,
        )  # fmt: skip

    def reached(self, key: str) -> Reach:
        """What ``key``'s batches delivered or started reached (what ``--fresh-run`` would repeat)."""
        row = self._run(
            "SELECT COALESCE(SUM(CASE WHEN state = 'delivered' THEN size ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN state = 'started' THEN size ELSE 0 END), 0),"
            " COUNT(CASE WHEN size = 0 THEN 1 END)"
            " FROM jobframe_ledger_batches WHERE run_key = ? AND state IN ('delivered', 'started')",
            key,
        ).fetchone()
        return Reach(int(row[0]), int(row[1]), int(row[2]))

    def earlier_run(
        self,
        key: str,
        job: str,
        run_fingerprint: str,
        *,
        number: int,
        endpoint: str,
        fingerprint: str,
        input_fingerprint: str | None = None,
    ) -> tuple[str, int, bool, int] | None:
        """An unfinished run under another key that sent call ``number`` of the same job, parameters
        and input (a resubmitted workflow), or is sending it now (a live lease: it may not have
        recorded its first batch yet); with how many objects it reached, whether it is live, and
        how many batches it sent (a send to an audience is one that reached no listed object).

        The same input is the same call fingerprint, or the same ``input_fingerprint`` (the input
        without its batch sizes): the same file cut in batches of another size reaches the same
        users."""
        same_input = input_fingerprint or fingerprint
        self._one_check_at_a_time(same_input)
        row = self._run(
            _sent_the_call("(s.fingerprint = ? OR s.input_fingerprint = ?) AND r.fingerprint = ?"
                           " AND r.status = 'open'")
            + " ORDER BY r.updated_at DESC LIMIT 1",
            number, endpoint, key, job, fingerprint, same_input, run_fingerprint,
        ).fetchone()  # fmt: skip
        return None if row is None else (str(row[0]), int(row[1] or 0), bool(row[2]), int(row[3] or 0))

    def other_fanout(
        self, key: str, fanout_name: str, *, number: int, endpoint: str, job: str, fanout: str
    ) -> list[tuple[str, int, bool, int, str, bool]]:
        """The unfinished shards of the fan-out (not ``fanout_name``) one of whose shards most
        recently sent call ``number`` over the same sharded input (``fanout``: its fingerprint
        without the shard's index), finished or not, and reached someone, or is sending it now.

        One row per unfinished shard (open, or registered and never started): the shard that sent
        the call — key, objects, live, batches, as :meth:`earlier_run` — then the unfinished
        shard's key and whether it is live. Empty when no such fan-out has a shard unfinished.
        A fan-out is named by its shards' keys, ``<fan-out>-<digits>``: a key that names none
        (``rtrim`` leaves no ``-`` at its end) belongs to no fan-out."""
        self._one_check_at_a_time(fanout)
        rows = self._run(
            f"WITH calls AS ({_sent_the_call('s.fanout = ?')}),"  # noqa: S608 - no input
            " shards AS (SELECT c.run_key AS sender, c.reached, c.live, c.sent, c.updated_at,"
            f" r.run_key, {_HELD} AS held FROM calls c JOIN jobframe_ledger_runs r"
            f" ON {_FANOUT.format(key='r.run_key')} = {_FANOUT.format(key='c.run_key')}"
            f" WHERE {_NAMES_A_FANOUT.format(key='c.run_key')} AND {_FANOUT.format(key='c.run_key')} <> ?"
            f" AND {_NAMES_A_FANOUT.format(key='r.run_key')} AND r.status IN ('open', 'registered'))"
            " SELECT sender, reached, live, sent, run_key, held FROM shards"
            " WHERE sender = (SELECT sender FROM shards ORDER BY updated_at DESC, sender LIMIT 1)",
            number, endpoint, key, job, fanout, f"{fanout_name}-",
        ).fetchall()  # fmt: skip
        return [
            (str(row[0]), int(row[1] or 0), bool(row[2]), int(row[3] or 0), str(row[4]), bool(row[5]))
            for row in rows
        ]

    def _one_check_at_a_time(self, same_input: str) -> None:
        """Two new runs of one input, checking for an earlier run of it, check one after the other
        (PostgreSQL: a transaction-scoped lock; SQLite's write lock already serialises them)."""
        if self.dialect.name == "postgres":
            self._run("SELECT pg_advisory_xact_lock(hashtext(?))", same_input)

    def forget(self, key: str) -> None:
        """Delete what ``key`` recorded, by hand, and leave it as :meth:`register` does: a run no
        attempt has opened. The next attempt starts it from the first object — a retry too, and
        one told ``--registered``: a key that vanished would read as a lost ledger and be
        refused. The lease goes as with :meth:`abandon` (an attempt holding it sends nothing more)."""
        self.forget_batches(key)
        self._run(
            "UPDATE jobframe_ledger_runs SET job = '', fingerprint = '', status = 'registered',"
            " attempts = 0, owner = NULL, lease_expires = NULL, fence = fence + 1, updated_at = ?"
            " WHERE run_key = ?",
            _now(), key,
        )  # fmt: skip

    # -- streams and batches ---------------------------------------------------------------------

    def has_stream(self, key: str, number: int) -> bool:
        found = self._run(
            "SELECT 1 FROM jobframe_ledger_streams WHERE run_key = ? AND stream = ?", key, number
        ).fetchone()
        return found is not None

    def stream(
        self,
        key: str,
        number: int,
        endpoint: str,
        fingerprint: str | None,
        input_fingerprint: str | None = None,
        *,
        fanout: str | None = None,
    ) -> tuple[str, str | None, str | None]:
        """The stream's recorded endpoint, fingerprint and input fingerprint (without the batch
        sizes), recording them (and a shard's ``fanout``) on first sight."""
        self._run(
            "INSERT INTO jobframe_ledger_streams"
            " (run_key, stream, endpoint, fingerprint, input_fingerprint, fanout)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_key, stream) DO NOTHING",
            key, number, endpoint, fingerprint, input_fingerprint, fanout,
        )  # fmt: skip
        row = self._run(
            "SELECT endpoint, fingerprint, input_fingerprint FROM jobframe_ledger_streams"
            " WHERE run_key = ? AND stream = ?",
            key,
            number,
        ).fetchone()
        return str(row[0]), row[1], row[2]

    def batches(self, key: str, number: int) -> Iterator[tuple[int, BatchState, str]]:
        """Every recorded batch of a stream: index, state, digest."""
        rows = self._run(
            "SELECT batch, state, digest FROM jobframe_ledger_batches WHERE run_key = ? AND stream = ?",
            key,
            number,
        ).fetchall()
        for batch, state, digest in rows:
            yield int(batch), BatchState(state), str(digest)

    def started(
        self, key: str, number: int, batch: int, *, items: dict[str, tuple[int, int]], size: int, digest: str
    ) -> None:
        """Record a batch as *started*, before its request is sent."""
        self._run(
            "INSERT INTO jobframe_ledger_batches"
            " (run_key, stream, batch, state, items, size, digest, updated_at)"
            " VALUES (?, ?, ?, 'started', ?, ?, ?, ?) ON CONFLICT (run_key, stream, batch)"
            " DO UPDATE SET state = 'started', updated_at = excluded.updated_at",
            key, number, batch, json.dumps(items), size, digest, _now(),
        )  # fmt: skip

    def delivered(
        self, key: str, number: int, rows: list[tuple[int, dict[str, tuple[int, int]], int, str]]
    ) -> None:
        """Record many delivered batches (index, slices, size, digest) in one statement."""
        if not rows:
            return
        now = _now()
        values = ", ".join(["(?, ?, ?, 'delivered', ?, ?, ?, ?)"] * len(rows))
        params = [
            p
            for batch, items, size, digest in rows
            for p in (key, number, batch, json.dumps(items), size, digest, now)
        ]
        columns = "(run_key, stream, batch, state, items, size, digest, updated_at)"
        upsert = (
            "ON CONFLICT (run_key, stream, batch)"
            " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
        )
        sql = f"INSERT INTO jobframe_ledger_batches {columns} VALUES {values} {upsert}"  # noqa: S608 - placeholders only
        self._run(sql, *params)

    def settled(self, key: str, number: int, batch: int, state: BatchState) -> None:
        self._run(
            "UPDATE jobframe_ledger_batches SET state = ?, updated_at = ?"
            " WHERE run_key = ? AND stream = ? AND batch = ? AND state <> 'delivered'",
            state.value, _now(), key, number, batch,
        )  # fmt: skip

    def runs(self) -> list[tuple[RunRow, str]]:
        """Every run, newest first, with when it last changed."""
        rows = self._run(
            "SELECT run_key, job, fingerprint, status, attempts, updated_at FROM jobframe_ledger_runs"
            " ORDER BY updated_at DESC, run_key"
        ).fetchall()
        return [(RunRow(r[0], r[1], r[2], r[3], int(r[4])), str(r[5])) for r in rows]

    def unconfirmed(self, key: str) -> list[tuple[int, int, str, int]]:
        """Batches recorded *started* and never answered: stream, batch, input slices (JSON), size."""
        rows = self._run(
            "SELECT stream, batch, items, size FROM jobframe_ledger_batches"
            " WHERE run_key = ? AND state = 'started' ORDER BY stream, batch",
            key,
        ).fetchall()
        return [(int(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]

    def counts(self, key: str) -> dict[str, int]:
        """Batches by state, for a run (what ``ledger show`` prints)."""
        rows = self._run(
            "SELECT state, COUNT(*) FROM jobframe_ledger_batches WHERE run_key = ? GROUP BY state", key
        ).fetchall()
        return {str(state): int(count) for state, count in rows}


def _sqlite(settings: LedgerSettings) -> Dialect:
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


def _postgres(settings: LedgerSettings) -> Dialect:
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


def open_store(settings: LedgerSettings) -> Store:
    """Connect, check and migrate. A store that is briefly unavailable is retryable (75); one that
    cannot work as configured, or a damaged SQLite file, is a configuration error (78)."""
    dialect = _postgres(settings) if settings.store == "postgres" else _sqlite(settings)
    store: Store | None = None
    committed = None
    try:
        # what the WAL index says was committed, read before SQLite opens (and rebuilds) it
        committed = last_commit(Path(settings.path)) if settings.store == "sqlite" else None
        store = Store(dialect)
        if settings.store == "sqlite":
            check = lambda opened: check_sqlite(opened, Path(settings.path), committed)  # noqa: E731
            store.transaction(check)  # write-locked
        store.migrate()
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
