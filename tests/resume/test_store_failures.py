"""The ledger's store fails in the middle of a run: nothing acknowledged is lost, nothing is silent.

Real processes against the fake Braze (whose request log is the truth), both stores: the real
PostgreSQL server is stopped (as if it crashed) the moment the fake receives a chosen send; the
SQLite file stops growing (``RLIMIT_FSIZE`` set on the job's process: a full disk) at that moment.
The attempt must exit 75 (a store failure is retryable) and name, in ``ledger.unrecorded``, every
batch Braze answered whose outcome it could not record; the retry (store back) must list as
ambiguous exactly those batches — never one the first attempt recorded delivered — reach no id
twice, and account for every id.
"""

from __future__ import annotations

import contextlib
import resource
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import Attempt, bulk_job, fake_braze, ledger_env, write_ids
from .pg import find_bindir, stoppable_postgres

pytestmark = pytest.mark.process

IDS = 3000  # 60 sends of 50
PUSH = {"title": "Hello", "body": "Once"}
AT = 20  # the send during which the store goes away


def _lost(attempt: Attempt) -> set[int]:
    return {b["batch"] for e in attempt.events if e.get("event") == "ledger.unrecorded" for b in e["batches"]}


def _run_with_failure(
    tmp_path: Path, env: dict[str, str], fail: Callable[[int], object], restore: Callable[[], object]
) -> tuple[Attempt, Attempt, dict[str, int], list[str]]:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze() as (fake, server):
        first = bulk_job(
            "SendPushFromFile", params, server, env, run_key="k", fake=fake, on_request=(AT, fail)
        )
        restore()
        final = bulk_job("SendPushFromFile", params, server, env, run_key="k")
        sent = dict(fake.ids_sent())
    return first, final, sent, ids


def _check(first: Attempt, final: Attempt, sent: dict[str, int], ids: list[str]) -> None:
    assert first.code == 75, first.output  # a store failure mid-run is retryable
    assert final.code == 0, final.output
    assert [i for i, n in sent.items() if n > 1] == []
    assert set(ids) - set(sent) - final.ambiguous_ids() == set()
    assert final.resume["attempt"] == 2
    ambiguous = {a["batch"] for a in final.resume["ambiguous"]}
    # the batch Braze answered as the store went away: named by the attempt, listed by the retry
    assert ambiguous == {AT - 1}, final.output
    assert ambiguous <= _lost(first), first.output
    assert final.resume["skipped"]["batches"] == AT - 1  # every delivery recorded before it is kept
    assert final.ambiguous_ids() <= set(sent)


@pytest.fixture
def postgres() -> Iterator[object]:
    if find_bindir() is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does)")
    with stoppable_postgres() as server:
        yield server


def test_the_postgres_server_stopped_mid_run(tmp_path: Path, postgres: object) -> None:
    from .pg import PostgresServer  # noqa: PLC0415 - for the type only

    assert isinstance(postgres, PostgresServer)
    env = ledger_env("postgres", tmp_path, postgres.dsn)
    first, final, sent, ids = _run_with_failure(tmp_path, env, lambda _pid: postgres.stop(), postgres.start)
    _check(first, final, sent, ids)


def test_a_full_disk_under_the_sqlite_ledger_mid_run(tmp_path: Path) -> None:
    env = ledger_env("sqlite", tmp_path)
    wal = tmp_path / "ledger.sqlite3-wal"

    def disk_full(pid: int) -> None:  # no file of the job's may grow past what it has now
        size = wal.stat().st_size
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, size))

    first, final, sent, ids = _run_with_failure(tmp_path, env, disk_full, lambda: None)
    _check(first, final, sent, ids)


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A filesystem of its own (a 2 MiB tmpfs) that a test can fill: a real full disk (ENOSPC),
    which tears the log frame SQLite is appending — unlike ``RLIMIT_FSIZE``, which refuses it whole."""
    mount = tmp_path / "volume"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_filesystem_that_fills_up_under_the_sqlite_ledger_mid_run(
    tmp_path: Path, small_filesystem: Path
) -> None:
    """The retry, the disk freed, resumes (75, then 0): the frame the full disk tore is not taken
    for a log cut short (which would refuse, 78, with nothing lost)."""
    env = {**ledger_env("sqlite", tmp_path), "LEDGER__PATH": str(small_filesystem / "ledger.sqlite3")}
    filler = small_filesystem / "filler"

    def fill(_pid: int) -> None:
        with filler.open("wb") as out, contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 65536)
                out.flush()

    first, final, sent, ids = _run_with_failure(tmp_path, env, fill, filler.unlink)
    _check(first, final, sent, ids)


def test_a_postgres_server_that_restarts_mid_run_costs_nothing(tmp_path: Path, postgres: object) -> None:
    """The writer opens its connection again: the outcome written when the server went away is
    written once it is back, and the attempt finishes as if nothing happened."""
    from .pg import PostgresServer  # noqa: PLC0415 - for the type only

    assert isinstance(postgres, PostgresServer)
    env = ledger_env("postgres", tmp_path, postgres.dsn)

    def restart(_pid: int) -> None:
        postgres.stop()
        postgres.start()

    ids = write_ids(tmp_path / "ids.txt", IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze() as (fake, server):
        done = bulk_job(
            "SendPushFromFile", params, server, env, run_key="k", fake=fake, on_request=(AT, restart)
        )
        again = bulk_job("SendPushFromFile", params, server, env, run_key="k")
        sent = fake.ids_sent()
    assert done.code == 0, done.output
    assert _lost(done) == set() and done.resume["ambiguous"] == []
    assert sorted(sent) == ids and max(sent.values()) == 1
    assert again.code == 0 and again.resume["skipped"]["batches"] == IDS // 50  # the run was closed
