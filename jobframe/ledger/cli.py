"""``python -m jobframe.ledger``: look into run ledgers, and end a run by hand.

    python -m jobframe.ledger show                     # every run: status, attempts, batches
    python -m jobframe.ledger show --run-key KEY       # one run, with its unconfirmed batches
    python -m jobframe.ledger abandon --run-key KEY    # later attempts under KEY are refused (78)
    python -m jobframe.ledger forget --run-key KEY     # delete it: the next attempt starts over

The store is the SQLite file ``--path`` (default ``.jobframe/ledger.sqlite3``, the settings'
default) or, with ``--dsn`` or ``LEDGER__DSN``, a PostgreSQL database. Exit codes: 0 done, 2 a
bad command line or an unknown run key, 78 a store that cannot be opened.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from jobframe.errors import JobframeError, UsageError
from jobframe.exit_codes import ExitCode
from jobframe.ledger.opening import ABANDONED
from jobframe.ledger.settings import LedgerSettings
from jobframe.ledger.store import Store, open_store

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jobframe.ledger",
        description="Look into run ledgers, and end a run by hand (docs/resume.md).",
    )
    parser.add_argument("command", choices=("show", "abandon", "forget"))
    parser.add_argument("--run-key", metavar="KEY", help="the run (required by abandon and forget)")
    parser.add_argument("--path", type=Path, default=LedgerSettings().path, help="SQLite file (%(default)s)")
    parser.add_argument(
        "--dsn", help="PostgreSQL connection string; prefer $LEDGER__DSN (ps shows arguments)"
    )
    parser.add_argument("--json", action="store_true", help="show: one JSON object per run")
    return parser


def _settings(args: argparse.Namespace) -> LedgerSettings:
    dsn = args.dsn or os.environ.get("LEDGER__DSN")
    if dsn:
        return LedgerSettings(store="postgres", dsn=SecretStr(dsn))
    if not args.path.is_file():
        raise UsageError(f"no ledger at {args.path} (give --path FILE, or --dsn for PostgreSQL)")
    return LedgerSettings(path=args.path)


def _show(store: Store, key: str | None, as_json: bool) -> None:
    runs = [(row, updated) for row, updated in store.runs() if key is None or row.key == key]
    if key is not None and not runs:
        raise UsageError(f"no run {key!r} in this ledger")
    for row, updated in runs:
        counts = store.counts(row.key)
        unconfirmed = (
            [
                {"stream": stream, "batch": batch, "items": json.loads(items), "size": size}
                for stream, batch, items, size in store.unconfirmed(row.key)
            ]
            if key is not None
            else []
        )
        record: dict[str, Any] = {
            "run_key": row.key,
            "job": row.job,
            "status": row.status,
            "attempts": row.attempts,
            "updated_at": updated,
            "batches": counts,
        }
        if key is not None:
            record["unconfirmed"] = unconfirmed
        if as_json:
            print(json.dumps(record))
            continue
        text = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no batches"
        print(f"{row.key}  {row.job}  {row.status}  attempts={row.attempts}  {text}  (updated {updated})")
        for batch in unconfirmed:
            print(f"  unconfirmed: stream {batch['stream']} batch {batch['batch']} items {batch['items']}")


def _change(store: Store, command: str, key: str | None) -> None:
    if not key:
        raise UsageError(f"{command} needs --run-key KEY")
    if store.run(key) is None:
        raise UsageError(f"no run {key!r} in this ledger")
    if command == "abandon":
        store.transaction(lambda s: s.set_status(key, ABANDONED))
        print(f"run {key!r} abandoned: every later attempt under this key is refused (78)")
    else:
        store.transaction(lambda s: s.forget(key))
        print(f"run {key!r} forgotten: the next attempt under this key starts from the first object")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        store = open_store(_settings(args))
        try:
            if args.command == "show":
                _show(store, args.run_key, args.json)
            else:
                _change(store, args.command, args.run_key)
        finally:
            store.close()
    except JobframeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    return int(ExitCode.SUCCEEDED)
