"""``python -m jobframe.ledger register``: the step a rendered workflow runs before a resumable
job's step — real processes, both stores.

It records run keys as runs no attempt has opened (idempotent, sending nothing), so a retry whose
earlier pods were lost before they opened the ledger is told apart from a lost ledger; its exit
codes are the documented ones (docs/resume.md, "The register step")."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from jobframe.ledger import LedgerSettings
from tests.lifecycle.jobproc import REPO

from .harness import bulk_job, fake_braze, write_ids

pytestmark = pytest.mark.process

PUSH = {"title": "Hello", "body": "Once"}


def _env(settings: LedgerSettings) -> dict[str, str]:
    if settings.store == "sqlite":
        return {"LEDGER__PATH": str(settings.path)}
    assert settings.dsn is not None
    return {"LEDGER__STORE": "postgres", "LEDGER__DSN": settings.dsn.get_secret_value()}


def ledger_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER__")}
    return subprocess.run(
        [sys.executable, "-m", "jobframe.ledger", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**clean, **env},
        timeout=60,
        check=False,
    )


def _runs(env: Mapping[str, str]) -> dict[str, dict[str, object]]:
    args = ["show", "--json"]
    if "LEDGER__PATH" in env:
        args += ["--path", env["LEDGER__PATH"]]
    shown = ledger_cli(env, *args)
    assert shown.returncode == 0, shown.stderr
    return {run["run_key"]: run for run in map(json.loads, shown.stdout.splitlines())}


def test_register_records_keys_once_and_leaves_a_started_run_as_it_is(
    ledger_settings: LedgerSettings, tmp_path: Path
) -> None:
    env = _env(ledger_settings)
    first = ledger_cli(env, "register", "--run-key", "k1", "--run-key", "k2")
    assert first.returncode == 0, first.stderr
    runs = _runs(env)
    assert {k: (r["status"], r["attempts"]) for k, r in runs.items()} == {
        "k1": ("registered", 0),
        "k2": ("registered", 0),
    }
    again = ledger_cli(env, "register", "--run-key", "k1")
    assert again.returncode == 0 and "already recorded" in again.stdout, again
    assert _runs(env) == runs  # nothing changed, not even the time

    ids = write_ids(tmp_path / "ids.txt", 200)
    job_env = {**env, "LEDGER__LEASE": "2"}
    with fake_braze() as (fake, server):
        params = {"path": tmp_path / "ids.txt", **PUSH}
        # a retry (its earlier pod lost before main) finds its key registered: it runs, once
        done = bulk_job(
            "SendPushFromFile", params, server, job_env, run_key="k1", args=["--retry-number", "2"]
        )
        sent = fake.ids_sent()
    assert done.code == 0, done.output
    assert "ledger.retry_of_registered_run" in done.output
    assert sorted(sent) == sorted(ids) and max(sent.values()) == 1
    started = _runs(env)["k1"]
    assert (started["job"], started["status"], started["attempts"]) == ("SendPushFromFile", "closed", 1)
    # registering a started (here finished) run changes nothing: a late register step is harmless
    late = ledger_cli(env, "register", "--run-key", "k1")
    assert late.returncode == 0 and _runs(env)["k1"] == started


def test_register_expands_the_fanouts_shard_keys(ledger_settings: LedgerSettings) -> None:
    env = _env(ledger_settings)
    done = ledger_cli(env, "register", "--run-key", "uid", "--shards", "3")
    assert done.returncode == 0, done.stderr
    assert sorted(_runs(env)) == ["uid-0", "uid-1", "uid-2"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("env", "args", "code", "says"),
    [
        ({}, [], 2, "needs --run-key"),
        ({}, ["--run-key", "k", "--shards", "0"], 2, "at least 1"),
        ({"LEDGER__STORE": "postgres"}, ["--run-key", "k"], 78, "needs dsn"),
        ({"LEDGER__TIMEOUT": "soon"}, ["--run-key", "k"], 78, "LEDGER__TIMEOUT"),
        (
            {
                "LEDGER__STORE": "postgres",
                "LEDGER__DSN": "postgresql://u:hunter2@127.0.0.1:{port}/db",
                "LEDGER__TIMEOUT": "2",
            },
            ["--run-key", "k"],
            75,
            "transient",
        ),
    ],
    ids=["no-key", "no-shards", "postgres-without-dsn", "bad-setting", "store-unreachable"],
)
def test_register_exit_codes(
    env: dict[str, str], args: list[str], code: int, says: str, tmp_path: Path
) -> None:
    given = {"LEDGER__PATH": str(tmp_path / "ledger.sqlite3"), **env}
    given = {k: v.replace("{port}", str(_closed_port())) for k, v in given.items()}
    done = ledger_cli(given, "register", *args)
    assert done.returncode == code, done
    assert says in done.stderr and "hunter2" not in done.stderr + done.stdout
    assert not (tmp_path / "ledger.sqlite3").exists() or code == 0


def test_register_in_an_unusable_sqlite_path_is_78(tmp_path: Path) -> None:
    (tmp_path / "ledger.sqlite3").mkdir()  # a directory where the file should be: never works
    done = ledger_cli({"LEDGER__PATH": str(tmp_path / "ledger.sqlite3")}, "register", "--run-key", "k")
    assert done.returncode == 78, done
