"""``python -m jobframe.ledger``: look into run ledgers, and end a run by hand.

    python -m jobframe.ledger show                     # every run: status, attempts, batches
    python -m jobframe.ledger show --run-key KEY       # one run, with its unconfirmed batches
    python -m jobframe.ledger abandon --run-key KEY    # later attempts under KEY are refused (78)
    python -m jobframe.ledger forget --run-key KEY     # clear it (registered): the next attempt starts over
    python -m jobframe.ledger register --run-key KEY [--run-key KEY2 ...]

``show``, ``abandon`` and ``forget`` read the SQLite file ``--path`` (default
``.jobframe/ledger.sqlite3``, the settings' default) or, with ``--dsn`` or ``LEDGER__DSN``, a
PostgreSQL database. Exit codes: 0 done, 2 a bad command line or an unknown run key, 75 a store
briefly unavailable (a later try may pass), 78 a store that cannot work as configured.

``register`` is the step a rendered workflow runs before a resumable job's step: it records each
key as a run no attempt has opened yet, so a retry that finds its key registered knows the
ledger was not lost — its earlier pods died before they opened it (docs/resume.md, "The register
step"). It opens the store exactly as the job does, from the job's own ``LEDGER__*`` environment
(``--env-prefix`` for another settings field), creating it if it is new; a key already registered
or started is left as it is; it sends nothing and loads no app. Exit codes: 0 registered, 2 a bad
command line, 75 a store briefly unreachable (retry), 78 a store that cannot work as configured.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from jobframe.errors import ConfigurationError, JobframeError, UsageError
from jobframe.exit_codes import ExitCode
from jobframe.ledger import batches, runs
from jobframe.ledger.failures import classify
from jobframe.ledger.settings import LedgerSettings
from jobframe.ledger.store import Store, describe, open_store

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jobframe.ledger",
        description="Look into run ledgers, and end a run by hand (docs/resume.md).",
    )
    parser.add_argument("command", choices=("show", "abandon", "forget", "register"))
    parser.add_argument(
        "--run-key",
        metavar="KEY",
        action="append",
        help="the run (required by abandon, forget and register; register takes it more than once)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help="register: each --run-key K stands for the fan-out's shard keys K-0 ... K-(N-1)",
    )
    parser.add_argument(
        "--secrets-dir",
        type=Path,
        help="register: the job's secrets directory (a file per setting, e.g. ledger__dsn)",
    )
    parser.add_argument(
        "--env-prefix",
        default="LEDGER",
        help="register: the environment prefix of the job's ledger settings (%(default)s__PATH, ...)",
    )
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
    try:
        found, reason = args.path.is_file(), ""
    except OSError as exc:  # a name too long to look up, a directory not searchable
        found, reason = False, f": {exc.strerror}"
    if not found:
        raise UsageError(f"no ledger at {args.path}{reason} (give --path FILE, or --dsn for PostgreSQL)")
    return LedgerSettings(path=args.path)


def _register_settings(args: argparse.Namespace) -> LedgerSettings:
    """The job's own store: its ``<prefix>__*`` environment, with ``--path``/``--dsn`` winning."""
    prefix = args.env_prefix.upper()
    given = {
        name[len(prefix) + 2 :].lower(): value
        for name, value in os.environ.items()
        if name.upper().startswith(prefix + "__")
    }
    if args.secrets_dir is not None:  # as pydantic-settings reads it; one the job refuses, refused
        try:
            for path in args.secrets_dir.iterdir():
                if path.is_file() and path.name.upper().startswith(prefix + "__"):
                    given.setdefault(path.name[len(prefix) + 2 :].lower(), path.read_text().strip())
        except OSError as exc:
            raise ConfigurationError(
                f"secrets directory {str(args.secrets_dir)!r} cannot be read: {exc.strerror or exc}"
            ) from None
    try:
        settings = LedgerSettings.model_validate(given)
    except ValidationError as exc:
        what = "; ".join(
            (f"{prefix}__{'__'.join(map(str, e['loc'])).upper()}: " if e["loc"] else "") + e["msg"]
            for e in exc.errors()
        )
        raise ConfigurationError(f"ledger settings: {what}") from None
    if args.dsn:
        settings = settings.model_copy(update={"store": "postgres", "dsn": SecretStr(args.dsn)})
    elif args.path != LedgerSettings().path:
        settings = settings.model_copy(update={"path": args.path})
    return settings


def _register(store: Store, keys: list[str]) -> None:
    for key in keys:
        new = bool(store.transaction(functools.partial(runs.register, key=key)))
        state = "registered" if new else "already recorded (left as it is)"
        print(f"run {key!r}: {state}")


def _show(store: Store, key: str | None, as_json: bool) -> None:
    shown = [(row, updated) for row, updated in runs.every_run(store) if key is None or row.key == key]
    if key is not None and not shown:
        raise UsageError(f"no run {key!r} in this ledger")
    for row, updated in shown:
        counts = batches.counts(store, row.key)
        unconfirmed = (
            [
                {"stream": stream, "batch": batch, "items": json.loads(items), "size": size}
                for stream, batch, items, size in batches.unconfirmed(store, row.key)
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
    if runs.run(store, key) is None:
        raise UsageError(f"no run {key!r} in this ledger")
    if command == "abandon":
        store.transaction(lambda s: runs.abandon(s, key))
        print(
            f"run {key!r} abandoned: an attempt running under this key sends nothing more (75), "
            "every later one is refused (78)"
        )
    else:
        store.transaction(lambda s: runs.forget(s, key))
        print(f"run {key!r} forgotten: the next attempt under this key starts from the first object")


def _one_key(args: argparse.Namespace) -> str | None:
    keys: list[str] = args.run_key or []
    if len(keys) > 1:
        raise UsageError(f"{args.command} takes one --run-key")
    return keys[0] if keys else None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "register":
            if not args.run_key or not all(args.run_key):
                raise UsageError("register needs --run-key KEY (once per run)")
            settings = _register_settings(args)
            if args.shards is not None:
                if args.shards < 1:
                    raise UsageError(f"--shards {args.shards}: give at least 1")
                args.run_key = [f"{key}-{shard}" for key in args.run_key for shard in range(args.shards)]
        else:
            settings = _settings(args)
        store = open_store(settings)
        try:
            if args.command == "register":
                try:
                    _register(store, args.run_key)
                except JobframeError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a store failure: 75 or 78, one line
                    raise classify(exc, f"ledger: cannot register in {describe(settings)}: {exc}") from None
            elif args.command == "show":
                _show(store, _one_key(args), args.json)
            else:
                _change(store, args.command, _one_key(args))
        finally:
            store.close()
    except JobframeError as exc:
        print(f"jobframe.ledger: error: {exc}", file=sys.stderr)  # named like jobframe's own errors
        return int(exc.exit_code)
    return int(ExitCode.SUCCEEDED)
