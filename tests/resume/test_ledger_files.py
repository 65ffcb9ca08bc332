"""The SQLite ledger's files tampered with between attempts: a retry never resumes from a record
that lost what the killed attempt delivered.

A killed attempt leaves its last commits in the write-ahead log (``-wal``), counted by its index
(``-shm``); the database file holds only what a checkpoint copied. A log deleted, or cut where no
torn frame shows it, would leave a ledger that looks whole and remembers an earlier point of the
run: the retry would send again every batch delivered since. Real processes, the fake Braze's
request log the truth.
"""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import pytest

from jobframe.braze.fake import FakeBrazeServer

from .harness import SEND, KillingBraze, bulk_job, fake_braze, ledger_env, write_ids

pytestmark = pytest.mark.process

IDS = 12_000  # 240 sends of 50
PUSH = {"title": "Hello", "body": "Once"}


def _checkpoint(db: Path) -> None:
    """What SQLite's auto-checkpoint (or a `ledger show` closing) does mid-run: copy the log's
    frames into the database. The job keeps writing after it."""
    with sqlite3.connect(db) as other:
        other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    other.close()


def _killed_after_a_checkpoint(
    fake: KillingBraze, server: FakeBrazeServer, env: dict[str, str], params: dict[str, object]
) -> None:
    """The first attempt: the log checkpointed at the 100th send, the job killed at the 200th."""
    db = Path(env["LEDGER__PATH"])
    first = bulk_job(
        "SendPushFromFile",
        params,
        server,
        env,
        run_key="files",
        fake=fake,
        on_request=(100, lambda pid: _checkpoint(db)),
        kill_on_request=200,  # received, never answered: the job dies mid-batch
    )
    assert first.code == -9, first.output


def _frames_counted(db: Path) -> int:
    return int(struct.unpack("=I", db.with_name(db.name + "-shm").read_bytes()[16:20])[0])


def _tamper(db: Path, what: str) -> None:
    wal = db.with_name(db.name + "-wal")
    if what == "log deleted":
        assert _frames_counted(db) > 0  # commits after the checkpoint, in the log only
        wal.unlink()
    elif what == "log cut at a frame boundary":
        counted, head = _frames_counted(db), wal.read_bytes()[:32]
        with wal.open("r+b") as log:  # half the counted frames kept, whole
            log.truncate(32 + (counted // 2) * (24 + int.from_bytes(head[8:12], "big")))
    else:  # what SQLite itself does: the last connection to close checkpoints and deletes the log
        with sqlite3.connect(db) as last:
            last.execute("SELECT COUNT(*) FROM jobframe_ledger_batches").fetchone()
        last.close()
        assert not wal.exists()


@pytest.mark.parametrize(
    ("what", "code"),
    [("log deleted", 78), ("log cut at a frame boundary", 78), ("log checkpointed by the last close", 0)],
)
def test_a_retry_after_the_ledgers_log_changed_never_sends_twice(
    tmp_path: Path, what: str, code: int
) -> None:
    """A log that lost commits is refused (78) and the retry sends nothing; one that SQLite
    checkpointed and deleted itself holds every record in the database: the retry resumes (0)."""
    ids = write_ids(tmp_path / "ids.txt", IDS)
    env = ledger_env("sqlite", tmp_path)
    params: dict[str, object] = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze(latency=0.002) as (fake, server):
        _killed_after_a_checkpoint(fake, server, env, params)
        _tamper(Path(env["LEDGER__PATH"]), what)
        before = len(fake.requests_to(SEND))
        retry = bulk_job(
            "SendPushFromFile", params, server, env, run_key="files", args=["--retry-number", "1"]
        )
        assert retry.code == code, retry.output
        sent = fake.ids_sent()
        assert [i for i, n in sent.items() if n > 1] == []
        if code == 78:
            assert len(fake.requests_to(SEND)) == before  # the retry sent nothing
            message = retry.one("job.finished")["error_message"]
            assert "run key 'files'" in message and "commits were lost" in message
            assert set(sent) <= set(ids)
        else:
            assert set(ids) - set(sent) <= retry.ambiguous_ids()
