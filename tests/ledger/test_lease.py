"""One holder per run key, a lost ledger that never looks like a new run, a resubmit that never re-sends.

In-process, against both stores (PostgreSQL a real server). A lease "expires" here by moving its
expiry into the past in the store — the holder is frozen as far as the store can tell — so the
fencing is tested without waiting on a clock; ``test_chaos.py`` freezes real processes.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from jobframe.errors import ConfigurationError, RetryableError
from jobframe.ledger import BatchState, LedgerSettings, RunLedger, batches
from jobframe.ledger.failures import LedgerDamagedError, is_transient
from jobframe.ledger.lease import LeaseHeldError, LeaseLostError
from jobframe.ledger.sqlite_integrity import Commit, last_commit
from jobframe.ledger.store import open_store

SEND, TRACK = "/messages/send", "/users/track"


def _open(settings: LedgerSettings, key: str = "run-1", **kw: Any) -> RunLedger:
    options: dict[str, Any] = {"job": "Job", "fingerprint": "f1", **kw}
    return RunLedger.open(settings, key=key, **options)


def _send(ledger: RunLedger, index: int, outcome: BatchState | None = BatchState.DELIVERED) -> None:
    journal = ledger.journals[0] if ledger.journals else ledger.journal(SEND, "input-1")
    assert journal is not None
    future = journal.before_send(
        index, {"external_user_ids": [f"u{index}"]}, {"external_user_ids": (index, index + 1)}, 1
    )
    assert future is not None
    future.result(5)
    if outcome is not None:
        journal.settled(index, outcome)


@pytest.fixture
def ledger_settings(ledger_settings: LedgerSettings) -> LedgerSettings:
    """A lease long enough that no background renewal lands while a test "freezes" a holder."""
    return ledger_settings.model_copy(update={"lease": 120.0})


def _quiet(ledger: RunLedger) -> None:
    """Let ``ledger``'s writer commit what is queued: from now on it is frozen, as far as the test goes."""
    assert ledger.writer is not None
    ledger.writer.submit(lambda store: None).result(5)


def _expire(settings: LedgerSettings, key: str = "run-1") -> None:
    """What the store sees of a holder frozen past its lease: an expiry in the past."""
    store = open_store(settings)
    try:
        store.transaction(
            lambda s: s.execute(
                "UPDATE jobframe_ledger_runs SET lease_expires = {now} - 1 WHERE run_key = ?", key
            )
        )
    finally:
        store.close()


def test_a_second_attempt_while_the_first_holds_the_key_is_refused_retryable_and_counts_nothing(
    ledger_settings: LedgerSettings,
) -> None:
    first = _open(ledger_settings)
    _send(first, 0)
    with pytest.raises(LeaseHeldError) as held:
        _open(ledger_settings)
    assert held.value.exit_code == 75
    assert "'run-1' is held by another attempt" in str(held.value) and "sent nothing" in str(held.value)
    first.finish(succeeded=False)  # gives the lease up: the next attempt need not wait
    second = _open(ledger_settings)
    assert second.attempt == 2  # the refused attempt was not counted
    second.finish(succeeded=True)


def test_a_holder_taken_over_after_its_lease_expired_can_neither_write_nor_send(
    ledger_settings: LedgerSettings,
) -> None:
    frozen = _open(ledger_settings)
    _send(frozen, 0)
    tracked = frozen.journal(TRACK, "input-2")
    assert tracked is not None
    _quiet(frozen)
    _expire(ledger_settings)
    taker = _open(ledger_settings)
    assert taker.attempt == 2 and taker.lease.fence == frozen.lease.fence + 1
    # the frozen holder wakes: its next batch of a send is refused by the fence in the store ...
    journal = frozen.journals[0]
    started = journal.before_send(1, {"external_user_ids": ["u1"]}, {"external_user_ids": (1, 2)}, 1)
    assert started is not None
    with pytest.raises(LeaseLostError, match="taken over"):
        started.result(5)
    # ... and an attribute update, recorded only once delivered, is checked before it is sent
    frozen.lease.valid_until = 0.0  # its own clock says the lease ran out while it was stopped
    check = tracked.before_send(0, {"attributes": [{"external_id": "u0"}]}, {"attributes": (0, 1)}, 1)
    assert check is not None, "a holder past its lease sent without asking the store"
    with pytest.raises(LeaseLostError):
        check.result(5)
    frozen.finish(succeeded=True)  # cannot close the taker's run either
    again = taker.journal(SEND, "input-1")
    assert again is not None
    assert 1 not in again.known  # nothing of the frozen holder's reached the ledger after the takeover
    taker.finish(succeeded=True)
    reopened = _open(ledger_settings)
    assert reopened.journal(SEND, "input-1") is not None
    reopened.finish(succeeded=True)


def test_a_holder_whose_lease_lapsed_without_a_taker_renews_and_goes_on(
    ledger_settings: LedgerSettings,
) -> None:
    holder = _open(ledger_settings)
    _send(holder, 0)
    _quiet(holder)
    _expire(ledger_settings)
    holder.lease.valid_until = 0.0
    _send(holder, 1)  # nobody took over: the fenced renewal succeeds
    assert holder.lease.valid()
    holder.finish(succeeded=True)


def test_an_expired_lease_is_taken_over_and_an_unexpired_one_is_not(ledger_settings: LedgerSettings) -> None:
    holder = _open(ledger_settings)  # a holder killed now renews nothing more
    with pytest.raises(LeaseHeldError):
        _open(ledger_settings)
    _quiet(holder)
    _expire(ledger_settings)
    taker = _open(ledger_settings)
    assert taker.attempt == 2
    taker.finish(succeeded=True)
    assert holder.lease.fence < taker.lease.fence


def test_a_retry_that_finds_no_record_of_its_key_refuses_naming_the_key(
    ledger_settings: LedgerSettings,
) -> None:
    with pytest.raises(LedgerDamagedError) as lost:
        _open(ledger_settings, key="wf-1234", retry=2)
    message = str(lost.value)
    assert lost.value.exit_code == 78
    assert "'wf-1234'" in message and "retry 2" in message and "nothing was sent" in message
    assert "--fresh-run" in message and "\n" not in message
    # nothing was created: the refusal is not remembered as a first attempt
    with pytest.raises(LedgerDamagedError):
        _open(ledger_settings, key="wf-1234", retry=1)
    started_over = _open(ledger_settings, key="wf-1234", retry=2, fresh=True)
    assert started_over.attempt == 1
    started_over.finish(succeeded=False)
    resumed = _open(ledger_settings, key="wf-1234", retry=3)
    assert resumed.attempt == 2
    resumed.finish(succeeded=True)


def test_a_retry_whose_earlier_attempts_never_reached_a_store_in_use_starts_the_run(
    ledger_settings: LedgerSettings,
) -> None:
    _open(ledger_settings, key="another-run").finish(succeeded=True)  # the store holds other runs
    retry = _open(ledger_settings, key="wf-9", retry=1)  # its first attempt found the store down
    assert retry.attempt == 1
    retry.finish(succeeded=True)
    emptied = open_store(ledger_settings)  # the same store emptied: the retry cannot tell, so refuses
    emptied.transaction(lambda s: s.execute("DELETE FROM jobframe_ledger_runs"))
    emptied.close()
    with pytest.raises(LedgerDamagedError, match="no record of the key and no run at all"):
        _open(ledger_settings, key="wf-10", retry=1)


def test_a_resubmitted_run_of_the_same_input_is_refused_naming_the_earlier_key(
    ledger_settings: LedgerSettings,
) -> None:
    earlier = _open(ledger_settings, key="wf-a")
    _send(earlier, 0)
    _send(earlier, 1, None)  # ambiguous
    earlier.finish(succeeded=False)
    resubmit = _open(ledger_settings, key="wf-b")
    with pytest.raises(ConfigurationError) as refused:
        resubmit.journal(SEND, "input-1")
    message = str(refused.value)
    assert "'wf-a'" in message and "--run-key wf-a" in message and "reaching 2 users" in message
    assert "--new-run" in message
    resubmit.finish(succeeded=False)
    other_input = _open(ledger_settings, key="wf-c")
    assert other_input.journal(SEND, "input-2") is not None  # another file: a new run
    other_input.finish(succeeded=True)
    other_params = _open(ledger_settings, key="wf-d", fingerprint="f2")
    assert other_params.journal(SEND, "input-1") is not None
    other_params.finish(succeeded=True)
    opted_out = _open(ledger_settings, key="wf-e", new_run=True)
    assert opted_out.journal(SEND, "input-1") is not None
    opted_out.finish(succeeded=True)
    continued = _open(ledger_settings, key="wf-a")
    assert continued.journal(SEND, "input-1") is not None
    continued.finish(succeeded=True)  # the earlier run is finished now: a new submission may send again
    after = _open(ledger_settings, key="wf-f")
    assert after.journal(SEND, "input-1") is not None
    after.finish(succeeded=True)


def test_a_run_of_the_same_input_under_another_key_that_is_alive_is_refused_before_it_sent_anything(
    ledger_settings: LedgerSettings,
) -> None:
    # two workflows of one cron schedule at once: the second must not wait for the first's first batch
    running = _open(ledger_settings, key="wf-a")
    assert running.journal(SEND, "input-1") is not None
    second = _open(ledger_settings, key="wf-b")
    with pytest.raises(ConfigurationError, match=r"run key 'wf-a' is sending .* right now"):
        second.journal(SEND, "input-1")
    second.finish(succeeded=False)
    running.finish(succeeded=False)  # ended having reached no one: it blocks nothing
    later = _open(ledger_settings, key="wf-c")
    assert later.journal(SEND, "input-1") is not None
    later.finish(succeeded=True)


def test_a_resubmitted_run_of_the_same_file_cut_in_other_batches_is_refused(
    ledger_settings: LedgerSettings,
) -> None:
    """The same file with another ``BRAZE__BATCH__*``: the same users, so the same refusal — a
    new run would reach again everyone the earlier one reached."""
    earlier = _open(ledger_settings, key="wf-a")
    journal = earlier.journal(SEND, "input-1/batches-of-2", "input-1")
    assert journal is not None
    _send(earlier, 0)
    earlier.finish(succeeded=False)
    recut = _open(ledger_settings, key="wf-b")
    with pytest.raises(ConfigurationError, match=r"run key 'wf-a' already sent .* --run-key wf-a"):
        recut.journal(SEND, "input-1/batches-of-3", "input-1")
    recut.finish(succeeded=False)
    another = _open(ledger_settings, key="wf-c")
    assert another.journal(SEND, "input-2/batches-of-3", "input-2") is not None  # another file
    another.finish(succeeded=True)


def test_refusals_name_their_cause_and_what_fresh_run_repeats(ledger_settings: LedgerSettings) -> None:
    first = _open(ledger_settings)
    assert first.journal(SEND, "input-1/batches-of-2", "input-1") is not None
    for index in range(3):
        _send(first, index)
    first.finish(succeeded=False)
    with pytest.raises(ConfigurationError, match=r"sends again to the 3 users it already reached"):
        _open(ledger_settings, fingerprint="f2")
    second = _open(ledger_settings)
    with pytest.raises(ConfigurationError) as recut:
        second.journal(SEND, "input-1/batches-of-3", "input-1")
    assert "batches of another size" in str(recut.value) and "another input" not in str(recut.value)
    assert "sends again to the 3 users" in str(recut.value)
    second.finish(succeeded=False)
    third = _open(ledger_settings)
    with pytest.raises(ConfigurationError) as changed:
        third.journal(SEND, "input-2/batches-of-2", "input-2")
    assert "reads another input" in str(changed.value) and "batches" not in str(changed.value)
    third.finish(succeeded=False)


def test_a_refusal_after_a_send_to_an_audience_never_says_it_reached_no_one(
    ledger_settings: LedgerSettings,
) -> None:
    """A send to a segment lists no users (a batch of 0 objects): --fresh-run would still repeat it."""
    first = _open(ledger_settings)
    journal = first.journal(SEND, "segment-send")
    assert journal is not None
    future = journal.before_send(0, {"segment_id": "s1"}, {}, 0)
    assert future is not None
    future.result(5)
    journal.settled(0, BatchState.DELIVERED)
    first.finish(succeeded=False)
    with pytest.raises(ConfigurationError) as refused:
        _open(ledger_settings, fingerprint="f2")
    assert "reached no one" not in str(refused.value)
    assert "sends again the 1 request it made to a segment, an audience or everyone" in str(refused.value)


def test_a_damaged_sqlite_ledger_is_refused_not_started_over(tmp_path: Path) -> None:
    settings = LedgerSettings(path=tmp_path / "ledger.sqlite3")
    _open(settings).finish(succeeded=False)
    settings.path.write_bytes(b"this is not a database" * 300)
    with pytest.raises(LedgerDamagedError, match="damaged") as damaged:
        _open(settings, retry=1)
    assert damaged.value.exit_code == 78


def test_a_write_ahead_log_cut_inside_a_frame_is_refused(tmp_path: Path) -> None:
    settings = LedgerSettings(path=tmp_path / "ledger.sqlite3")
    holder = _open(settings)
    _send(holder, 0)
    wal = tmp_path / "ledger.sqlite3-wal"
    size = wal.stat().st_size
    assert size > 32
    copy = tmp_path / "copy"  # what a killed process leaves: the log, not checkpointed
    copy.mkdir()
    for name in ("ledger.sqlite3", "ledger.sqlite3-wal"):
        (copy / name).write_bytes((tmp_path / name).read_bytes())
    holder.finish(succeeded=False)
    with (copy / "ledger.sqlite3-wal").open("r+b") as handle:
        handle.truncate(size - 100)
    with pytest.raises(LedgerDamagedError, match="cut short"):
        _open(LedgerSettings(path=copy / "ledger.sqlite3"), retry=1)


def _killed_holder_files(tmp_path: Path, batches: int) -> tuple[Path, int]:
    """The ledger's files as a holder killed after recording ``batches`` sends leaves them: the
    database, its log not checkpointed, and the log's index (``-shm``); the log's size."""
    settings = LedgerSettings(path=tmp_path / "ledger.sqlite3")
    holder = _open(settings)
    for index in range(batches):
        _send(holder, index)
    assert holder.journals[0].unrecorded(5) == []  # every delivery is committed
    copy = tmp_path / "killed"
    copy.mkdir()
    for name in ("ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm"):
        (copy / name).write_bytes((tmp_path / name).read_bytes())
    holder.finish(succeeded=False)
    return copy / "ledger.sqlite3", (copy / "ledger.sqlite3-wal").stat().st_size


@pytest.mark.parametrize("torn", [24, 24 + 1000, 24 + 4095])
def test_a_log_whose_last_write_failed_on_a_full_disk_resumes_with_every_record(
    tmp_path: Path, torn: int
) -> None:
    """A full disk tears the frame being appended (the index still counts only the commits
    before it): SQLite ignores it, so the retry resumes — never taken for a log cut short (78)."""
    path, _ = _killed_holder_files(tmp_path, 3)
    with path.with_name("ledger.sqlite3-wal").open("ab") as log:
        log.write(b"\x00\x00\x00\x05" + b"\xa5" * (torn - 4))  # a frame header and part of a page
    store = open_store(LedgerSettings(path=path))  # what a retry's open checks, its lease aside
    try:
        recorded = [(batch, state) for batch, state, _ in batches.batches(store, "run-1", 0)]
    finally:
        store.close()
    assert sorted(recorded) == [(i, BatchState.DELIVERED) for i in range(3)]


@pytest.mark.parametrize("index", ["kept", "gone"])
def test_a_log_cut_inside_a_committed_frame_is_refused_whatever_its_index_says(
    tmp_path: Path, index: str
) -> None:
    path, size = _killed_holder_files(tmp_path, 3)
    if index == "gone":
        path.with_name("ledger.sqlite3-shm").unlink()
    with path.with_name("ledger.sqlite3-wal").open("r+b") as log:
        log.truncate(size - 100)  # the last commit's frame, cut
    with pytest.raises(LedgerDamagedError, match="cut short"):
        _open(LedgerSettings(path=path), retry=1)


def _killed_after_a_checkpoint(tmp_path: Path) -> Path:
    """A second attempt killed after sending batches 3-5, which only its log holds (and its index,
    ``-shm``, counts); batches 0-2, sent by the first attempt, checkpointed into the database (as
    SQLite does when the last connection closes, or on a long run's auto-checkpoint)."""
    settings = LedgerSettings(path=tmp_path / "ledger.sqlite3")
    first = _open(settings)
    for index in range(3):
        _send(first, index)
    first.finish(succeeded=False)
    assert not (tmp_path / "ledger.sqlite3-wal").exists()  # checkpointed: the database holds 0-2
    holder = _open(settings, retry=1)
    for index in range(3, 6):
        _send(holder, index)
    assert holder.writer is not None  # killed a lease ago: the key is free for the retry
    holder.writer.submit(
        lambda store: store.execute("UPDATE jobframe_ledger_runs SET lease_expires = {now} - 1")
    ).result(5)
    copy = tmp_path / "killed"
    copy.mkdir()
    for name in ("ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm"):
        (copy / name).write_bytes((tmp_path / name).read_bytes())
    holder.finish(succeeded=False)
    return copy / "ledger.sqlite3"


@pytest.mark.parametrize("cut", ["log deleted", "log cut at a frame boundary"])
def test_a_log_that_lost_commits_its_index_counts_is_refused(tmp_path: Path, cut: str) -> None:
    """The database alone holds the checkpointed half of the run: resuming from it would send
    batches 3-5 again. The index still counts the log's frames, so the loss shows: 78."""
    path = _killed_after_a_checkpoint(tmp_path)
    wal = path.with_name("ledger.sqlite3-wal")
    if cut == "log deleted":
        wal.unlink()
    else:
        header = wal.read_bytes()[:32]
        frame = 24 + int.from_bytes(header[8:12], "big")
        with wal.open("r+b") as log:
            log.truncate(32 + frame)  # one whole frame kept: a cut no torn frame reveals
    with pytest.raises(LedgerDamagedError, match="commits were lost") as lost:
        open_store(LedgerSettings(path=path))  # what a retry's open checks, before its lease
    assert lost.value.exit_code == 78


@pytest.mark.parametrize("when", ["before the open", "between the index read and the check"])
def test_a_log_checkpointed_and_closed_by_another_process_is_not_taken_for_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """The last connection to close checkpoints the log into the database and deletes it with
    its index: every record is in the database, and the next attempt resumes — even when that
    close lands after the index was read (another shard's process ending), and a new index
    takes the old one's place."""
    path = _killed_after_a_checkpoint(tmp_path)

    def close_cleanly() -> None:
        with contextlib.closing(sqlite3.connect(path)) as reader:  # the last connection
            reader.execute("SELECT COUNT(*) FROM jobframe_ledger_batches").fetchone()
        assert not path.with_name("ledger.sqlite3-wal").exists()

    if when == "before the open":
        close_cleanly()
    else:

        def read_then_close(at: Path) -> Commit | None:
            committed = last_commit(at)
            assert committed is not None and committed.frames > committed.backfilled
            close_cleanly()
            return committed

        monkeypatch.setattr("jobframe.ledger.store.last_commit", read_then_close)
    resumed = _open(LedgerSettings(path=path), retry=1)
    journal = resumed.journal(SEND, "input-1")
    assert journal is not None
    assert {index: state for index, (state, _) in journal.known.items()} == dict.fromkeys(
        range(6), BatchState.DELIVERED
    )
    resumed.finish(succeeded=False)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("database or disk is full"), True),
        (sqlite3.OperationalError("disk I/O error"), True),
        (sqlite3.OperationalError("unable to open database file"), False),
        (sqlite3.DatabaseError("file is not a database"), False),
        (TimeoutError(), True),
        (OSError(28, "No space left on device"), True),
        (OSError(13, "Permission denied"), False),
        (ValueError("schema"), False),
    ],
)
def test_store_failures_that_may_pass_are_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_postgres_failures_by_kind() -> None:
    import psycopg  # noqa: PLC0415

    refused = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'
    )
    login = psycopg.OperationalError('connection failed: FATAL:  password authentication failed for user "u"')
    missing = psycopg.OperationalError('connection failed: FATAL:  database "nope" does not exist')
    assert is_transient(refused) and not is_transient(login) and not is_transient(missing)
    assert is_transient(psycopg.errors.DiskFull()) and is_transient(psycopg.errors.AdminShutdown())
    assert not is_transient(psycopg.errors.InsufficientPrivilege())


def test_a_schema_newer_than_this_jobframe_is_a_configuration_error(ledger_settings: LedgerSettings) -> None:
    store = open_store(ledger_settings)
    store.transaction(lambda s: s.execute("INSERT INTO jobframe_ledger_schema (version) VALUES (99)"))
    store.close()
    with pytest.raises(ConfigurationError, match="schema is version 99, newer than this jobframe") as newer:
        _open(ledger_settings)
    assert not isinstance(newer.value, RetryableError)


def test_a_lock_wait_says_what_it_waited_for(tmp_path: Path) -> None:
    settings = LedgerSettings(path=tmp_path / "ledger.sqlite3", timeout=0.5)
    _open(settings).finish(succeeded=True)
    blocker = sqlite3.connect(settings.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(RetryableError) as waited:
            _open(settings)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    message = str(waited.value)
    assert waited.value.exit_code == 75
    assert str(settings.path) in message and "lock" in message


def test_the_retry_number_comes_from_the_flag_or_argo_s_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from jobframe._cli.args import parse_args  # noqa: PLC0415
    from jobframe.errors import UsageError  # noqa: PLC0415

    monkeypatch.delenv("JOBFRAME_RETRY_NUMBER", raising=False)
    assert parse_args(["--job-name", "J"]).retry_number == 0
    assert parse_args(["--job-name", "J", "--retry-number", "2"]).retry_number == 2
    monkeypatch.setenv("JOBFRAME_RETRY_NUMBER", "3")
    assert parse_args(["--job-name", "J"]).retry_number == 3
    for bad in ("-1", "{{retries}}", "1.5"):
        with pytest.raises(UsageError, match="retry-number"):
            parse_args(["--job-name", "J", "--retry-number", bad])


def test_a_resubmitted_send_to_an_audience_is_refused_naming_the_requests_not_zero_users(
    ledger_settings: LedgerSettings,
) -> None:
    """A send to a segment lists no users, yet reaches the most: the refusal of its resubmission
    must not say it reached "0 users" — that reads as if ``--new-run`` would repeat nothing."""
    earlier = _open(ledger_settings, key="wf-a")
    journal = earlier.journal(SEND, "segment-send")
    assert journal is not None
    future = journal.before_send(0, {"segment_id": "seg-1", "messages": {}}, {}, 0)
    assert future is not None
    future.result(5)
    journal.settled(0, BatchState.DELIVERED)
    earlier.finish(succeeded=False)
    resubmit = _open(ledger_settings, key="wf-b")
    with pytest.raises(ConfigurationError) as refused:
        resubmit.journal(SEND, "segment-send")
    message = str(refused.value)
    resubmit.finish(succeeded=False)
    assert "'wf-a'" in message and "--new-run" in message
    assert "0 users" not in message, message
    assert "1 request to a segment, an audience or everyone" in message, message
