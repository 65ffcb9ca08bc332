"""The ledger's tables: their statements, the version a database is at, and the text of a row's time.

jobframe creates and migrates its tables itself (``jobframe_ledger_*``, version in
``jobframe_ledger_schema``), serialised between processes that open one database at once. What
is written here is the on-disk format: a later version must read what an earlier one wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from jobframe.errors import ConfigurationError

if TYPE_CHECKING:
    from jobframe.ledger.store import Store

__all__ = ["MIGRATIONS", "migrate", "now_text"]

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
    [  # version 4: the fan-out a call's run is a shard of, as it said ("": a whole run; NULL: before)
        "ALTER TABLE jobframe_ledger_streams ADD COLUMN fanout_name TEXT",
    ],
]
"""Each version's statements, applied in order; the schema table says how far a database is."""


def now_text() -> str:
    """The time a row changed, as ISO 8601 text (for people reading the tables)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def migrate(store: Store) -> int:
    """Create or bring the tables up to date (serialised between processes); returns the version.
    Sets ``store.created`` when there were none (a new or lost store)."""

    def work(store: Store) -> int:
        if store.dialect.serialise_migration:
            store.execute(store.dialect.serialise_migration)
        store.execute("CREATE TABLE IF NOT EXISTS jobframe_ledger_schema (version INTEGER NOT NULL)")
        row = store.execute("SELECT MAX(version) FROM jobframe_ledger_schema").fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        store.created = version == 0
        if version > len(MIGRATIONS):
            raise ConfigurationError(
                f"ledger: its schema is version {version}, newer than this jobframe knows "
                f"({len(MIGRATIONS)}): a newer jobframe wrote it; run that version (or a newer one)"
            )
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                store.execute(statement)
            store.execute("INSERT INTO jobframe_ledger_schema (version) VALUES (?)", number)
        return len(MIGRATIONS)

    return int(store.transaction(work))
