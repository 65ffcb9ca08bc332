"""The ledger itself, in both stores: what a resumed attempt is told about each batch.

The decisions are pinned exactly (mutation-tested); the stores are the real ones — SQLite in a
temp dir and a real PostgreSQL server (``pg.py``) — never a mock.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from jobframe import Counted
from jobframe.errors import ConfigurationError, JobframeError, RetryableError
from jobframe.ledger import DISABLED, BatchState, Decision, LedgerSettings, RunLedger, batches, runs
from jobframe.ledger.fingerprint import (
    batch_digest,
    digest,
    file_fingerprint,
    fingerprints_of_inputs,
    run_fingerprint,
)
from jobframe.ledger.policy import (
    Unrecorded,
    adds_to_a_value,
    decide,
    is_idempotent,
    records_start,
    unrecorded,
    updates_relatively,
)
from jobframe.ledger.schema import migrate
from jobframe.ledger.store import MIGRATIONS, open_store
from jobframe.shard import Shard

SEND, TRACK, EXPORT, TRIGGER = (
    "/messages/send",
    "/users/track",
    "/users/export/ids",
    "/campaigns/trigger/send",
)

# -- the policy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "arrays", "idempotent"),
    [
        (TRACK, ["attributes"], True),
        (TRACK, [], True),
        (TRACK, ["attributes", "events"], False),
        (TRACK, ["purchases"], False),
        (TRACK, ["events"], False),
        (EXPORT, ["external_ids"], True),
        (SEND, ["external_user_ids"], False),
        (TRIGGER, ["recipients"], False),
        ("/canvas/trigger/send", ["recipients"], False),
    ],
)
def test_only_reads_and_attribute_updates_are_idempotent(
    endpoint: str, arrays: list[str], idempotent: bool
) -> None:
    assert is_idempotent(endpoint, arrays) is idempotent
    # what may not be repeated is recorded before its request; what may, only once delivered
    assert records_start(endpoint, arrays) is not idempotent


@pytest.mark.parametrize("endpoint", [SEND, TRACK, EXPORT])
@pytest.mark.parametrize("resend", [False, True])
def test_delivered_is_skipped_and_unknown_or_failed_is_sent(endpoint: str, resend: bool) -> None:
    assert decide(BatchState.DELIVERED, endpoint, ["x"], resend_ambiguous=resend) is Decision.SKIP_DELIVERED
    assert decide(None, endpoint, ["x"], resend_ambiguous=resend) is Decision.SEND
    assert decide(BatchState.FAILED, endpoint, ["x"], resend_ambiguous=resend) is Decision.SEND


def test_an_ambiguous_send_is_not_repeated_unless_asked() -> None:
    assert (
        decide(BatchState.STARTED, SEND, ["external_user_ids"], resend_ambiguous=False)
        is Decision.SKIP_AMBIGUOUS
    )
    assert (
        decide(BatchState.STARTED, SEND, ["external_user_ids"], resend_ambiguous=True)
        is Decision.RESEND_AMBIGUOUS
    )
    assert decide(BatchState.STARTED, TRACK, ["events"], resend_ambiguous=False) is Decision.SKIP_AMBIGUOUS
    assert (
        decide(BatchState.STARTED, TRACK, ["attributes"], resend_ambiguous=False) is Decision.RESEND_AMBIGUOUS
    )


@pytest.mark.parametrize("in_use", [False, True])
@pytest.mark.parametrize("retry", [0, 1, 2, 7])
def test_a_key_registered_before_the_step_must_be_found_whatever_the_retry_and_the_store(
    retry: int, in_use: bool
) -> None:
    # argo retry restarts the step at 0; a store holding other runs does not vouch for this one
    told = unrecorded(retry=retry, registered=True, fresh=False, store_in_use=in_use)
    assert told is Unrecorded.REFUSE_REGISTERED
    # --fresh-run: the operator knows nothing was sent
    assert unrecorded(retry=retry, registered=True, fresh=True, store_in_use=in_use) is Unrecorded.START
    assert unrecorded(retry=retry, registered=False, fresh=True, store_in_use=in_use) is Unrecorded.START


@pytest.mark.parametrize(
    ("retry", "in_use", "expected"),
    [
        (0, False, Unrecorded.START),  # a first attempt of a new run, in a new store
        (0, True, Unrecorded.START),
        (1, False, Unrecorded.REFUSE_LOST),  # a retry in a new or emptied store: lost
        (2, False, Unrecorded.REFUSE_LOST),
        (1, True, Unrecorded.START_SAYING_SO),  # earlier attempts never reached a store in use
        (3, True, Unrecorded.START_SAYING_SO),
    ],
)
def test_without_a_register_step_only_a_retry_in_a_store_that_looks_new_is_refused(
    retry: int, in_use: bool, expected: Unrecorded
) -> None:
    assert unrecorded(retry=retry, registered=False, fresh=False, store_in_use=in_use) is expected


def test_the_names_the_docs_use() -> None:
    assert [s.value for s in BatchState] == ["started", "delivered", "failed"]
    assert [d.value for d in Decision] == ["send", "skip_delivered", "skip_ambiguous", "resend_ambiguous"]


# -- fingerprints ----------------------------------------------------------------------------------


def test_digests_are_canonical() -> None:
    assert digest({"a": 1, "b": [2]}) == digest({"b": [2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert len(digest(None)) == 64
    assert run_fingerprint("J", {"x": 1}) == run_fingerprint("J", {"x": 1})
    assert run_fingerprint("J", {"x": 1}) != run_fingerprint("K", {"x": 1})
    assert run_fingerprint("J", None) == run_fingerprint("J", {})
    # two shards given one key must not take each other's batches for their own
    assert run_fingerprint("J", {"x": 1}, "0/4") != run_fingerprint("J", {"x": 1}, "1/4")
    assert run_fingerprint("J", {"x": 1}, "0/4") != run_fingerprint("J", {"x": 1})


def test_a_batch_digest_covers_only_its_arrays() -> None:
    body = {"messages": {"a": 1}, "external_user_ids": ["u1", "u2"]}
    assert batch_digest(body, ["external_user_ids"]) == batch_digest(
        {**body, "messages": {}}, ["external_user_ids"]
    )
    assert batch_digest(body, ["external_user_ids"]) != batch_digest(
        {"external_user_ids": ["u1"]}, ["external_user_ids"]
    )


def _inputs(*inputs: object) -> str | None:
    found = fingerprints_of_inputs(*inputs)
    return None if found is None else found.inputs


def _fanout(*inputs: object) -> str | None:
    found = fingerprints_of_inputs(*inputs)
    return None if found is None else found.fanout


def test_input_fingerprints(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("u1\nu2\n")
    counted = Counted(lambda: iter(["u1", "u2"]), lambda: 2, fingerprint=lambda: file_fingerprint(path))
    first = _inputs(counted, ())
    assert first is not None and first == _inputs(counted, [])
    assert _inputs(iter(["u1"])) is None  # a generator cannot say what it is
    assert _inputs(Counted(lambda: iter([]), lambda: 0)) is None  # nor a Counted without one
    path.write_text("u1\nu3\n")
    changed = Counted(lambda: iter([]), lambda: 0, fingerprint=lambda: file_fingerprint(path))
    assert _inputs(changed, ()) != first


def test_a_fanout_is_the_whole_input_however_it_is_cut_and_nothing_else(tmp_path: Path) -> None:
    """Every shard of one input, of any shard count, and the whole input itself give one fan-out
    fingerprint (the same users); another input, or one that cannot say what it is, another (or
    none)."""
    path = tmp_path / "ids.txt"
    path.write_text("u1\nu2\nu3\n")
    counted = Counted(lambda: iter(["u1", "u2", "u3"]), lambda: 3, fingerprint=lambda: file_fingerprint(path))
    shards = [_fanout(Shard(i, 4).select(counted), ()) for i in range(4)]
    assert shards[0] is not None and set(shards) == {shards[0]}
    # pinned: a later version must find the runs an earlier one recorded
    assert shards[0] == digest([file_fingerprint(path), "empty"])
    # what versions before recorded for a shard (its count kept), asked for too: theirs are found
    befores = {fingerprints_of_inputs(Shard(i, 4).select(counted), ()) for i in range(4)}
    assert {found.fanout_before for found in befores if found is not None} == {
        digest([f"{file_fingerprint(path)} in 4 shards", "empty"])
    }
    uncut = fingerprints_of_inputs(counted, ())
    assert uncut is not None and uncut.fanout_before is None  # they recorded none for a whole input
    assert _fanout(Shard(0, 2).select(counted), ()) == shards[0]  # another count: same users
    assert _fanout(Shard(7, 8).select(counted), ()) == shards[0]
    assert _fanout(counted, ()) == shards[0]  # the whole input, in one run
    assert _fanout(counted, counted) != shards[0]  # another set of inputs
    assert _fanout(Shard(0, 2).select(iter(["u1"]))) is None  # an input that cannot say
    assert _fanout(Shard(0, 2).select(counted), iter(["u1"])) is None
    assert _fanout(iter(["u1"])) is None
    assert _fanout(Shard(1, 2).select(counted), counted) == digest(
        [file_fingerprint(path), file_fingerprint(path)]
    )
    looks_sharded = Counted(lambda: iter(["u1"]), lambda: 1, fingerprint=lambda: "sha shard 1/2")
    assert _fanout(looks_sharded) == digest(["sha shard 1/2"])  # a text is never read back
    path.write_text("u1\nu2\nu4\n")
    changed: Counted[str] = Counted(lambda: iter([]), lambda: 3, fingerprint=lambda: file_fingerprint(path))
    assert _fanout(Shard(0, 4).select(changed), ()) != shards[0]
    assert _fanout(changed, ()) != shards[0]


# -- the stores ------------------------------------------------------------------------------------


def test_the_schema_is_created_once_and_migrations_are_idempotent(ledger_settings: LedgerSettings) -> None:
    store = open_store(ledger_settings)
    try:
        assert migrate(store) == len(MIGRATIONS)  # a second time: nothing to do
    finally:
        store.close()
    again = open_store(ledger_settings)
    again.close()


def test_concurrent_first_opens_never_corrupt_the_schema(ledger_settings: LedgerSettings) -> None:
    # shards starting together: each creates/migrates the schema, one after another
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            open_store(ledger_settings).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _open(settings: LedgerSettings, key: str = "run-1", **kw: object) -> RunLedger:
    options: dict[str, object] = {"job": "Job", "fingerprint": "f1", **kw}
    return RunLedger.open(settings, key=key, **options)  # type: ignore[arg-type]


def _items(index: int) -> dict[str, tuple[int, int]]:
    return {"external_user_ids": (index * 2, index * 2 + 2)}


def _body(index: int) -> dict[str, object]:
    return {"external_user_ids": [f"u{index * 2}", f"u{index * 2 + 1}"]}


def _record(ledger: RunLedger, outcomes: dict[int, BatchState | None], endpoint: str = SEND) -> None:
    """Play an attempt: every batch of ``outcomes`` started; settled as given (``None``: never answered)."""
    journal = ledger.journal(endpoint, "input-1")
    assert journal is not None
    for index, outcome in outcomes.items():
        future = journal.before_send(index, _body(index), _items(index), 2)
        assert future is not None
        future.result(5)
        if outcome is not None:
            journal.settled(index, outcome)


def test_a_resumed_attempt_skips_what_was_delivered_and_withholds_what_is_ambiguous(
    ledger_settings: LedgerSettings,
) -> None:
    first = _open(ledger_settings)
    assert (first.attempt, first.resumed) == (1, False)
    _record(first, {0: BatchState.DELIVERED, 1: None, 2: BatchState.FAILED})
    first.finish(succeeded=False)

    second = _open(ledger_settings)
    assert (second.attempt, second.resumed) == (2, True)
    journal = second.journal(SEND, "input-1")
    assert journal is not None
    decisions = [journal.decide(i, _body(i), _items(i), 2, [f"u{i * 2}", f"u{i * 2 + 1}"]) for i in range(4)]
    assert decisions == [Decision.SKIP_DELIVERED, Decision.SKIP_AMBIGUOUS, Decision.SEND, Decision.SEND]
    summary = second.summary()
    assert summary is not None
    assert summary["skipped"] == {"batches": 1, "objects": 2}
    assert summary["ambiguous"] == [
        {
            "stream": 0,
            "endpoint": SEND,
            "batch": 1,
            "items": {"external_user_ids": (2, 4)},
            "ids": ["u2", "u3"],
        }
    ]
    second.finish(succeeded=True)


def test_an_attribute_update_is_recorded_only_once_delivered_and_a_lost_one_is_sent_again(
    ledger_settings: LedgerSettings,
) -> None:
    def batch(i: int) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
        return {"attributes": [{"external_id": f"u{i}"}]}, {"attributes": (i, i + 1)}

    first = _open(ledger_settings)
    journal = first.journal(TRACK, "input-1")
    assert journal is not None
    # no wait before an idempotent request: nothing to make durable first
    assert [journal.before_send(i, *batch(i), 1) for i in range(3)] == [None, None, None]
    journal.settled(0, BatchState.DELIVERED)
    journal.settled(1, BatchState.FAILED)  # batch 2: sent, never answered (the process died)
    first.finish(succeeded=False)
    second = _open(ledger_settings)
    again = second.journal(TRACK, "input-1")
    assert again is not None
    decisions = [again.decide(i, *batch(i), 1, []) for i in range(3)]
    assert decisions == [Decision.SKIP_DELIVERED, Decision.SEND, Decision.SEND]
    second.finish(succeeded=True)


def test_a_track_batch_with_events_is_recorded_before_it_is_sent(ledger_settings: LedgerSettings) -> None:
    body, items = {"events": [{"external_id": "u0", "name": "e"}]}, {"events": (0, 1)}
    first = _open(ledger_settings)
    journal = first.journal(TRACK, "input-1")
    assert journal is not None
    started = journal.before_send(0, body, items, 1)
    assert started is not None
    started.result(5)  # sent, never answered
    first.finish(succeeded=False)
    second = _open(ledger_settings)
    again = second.journal(TRACK, "input-1")
    assert again is not None
    assert again.decide(0, body, items, 1, ["u0"]) is Decision.SKIP_AMBIGUOUS
    second.finish(succeeded=True)


def test_a_run_started_with_other_parameters_is_refused(ledger_settings: LedgerSettings) -> None:
    _open(ledger_settings).finish(succeeded=False)
    with pytest.raises(ConfigurationError, match=r"other parameters.*--fresh-run"):
        _open(ledger_settings, fingerprint="f2")
    with pytest.raises(ConfigurationError, match="another job"):
        _open(ledger_settings, job="Other")
    fresh = _open(ledger_settings, fingerprint="f2", fresh=True)
    assert fresh.attempt == 1  # forgotten, started over
    fresh.finish(succeeded=True)


def test_a_bulk_call_with_another_input_is_refused(ledger_settings: LedgerSettings) -> None:
    first = _open(ledger_settings)
    _record(first, {0: BatchState.DELIVERED})
    first.finish(succeeded=False)
    second = _open(ledger_settings)
    with pytest.raises(ConfigurationError, match=r"bulk call 0 \(/messages/send\) reads another input"):
        second.journal(SEND, "input-2")
    second.finish(succeeded=False)
    third = _open(ledger_settings)
    with pytest.raises(ConfigurationError, match="bulk call 0 was /messages/send when the run started, now"):
        third.journal(TRACK, "input-1")  # the first bulk call of the run is now another endpoint
    third.finish(succeeded=False)


def test_a_batch_holding_other_objects_is_refused_even_without_a_fingerprint(
    ledger_settings: LedgerSettings,
) -> None:
    first = _open(ledger_settings)
    journal = first.journal(SEND, None)
    assert journal is not None
    journal.before_send(0, _body(0), _items(0), 2).result(5)  # type: ignore[union-attr]
    first.finish(succeeded=False)
    second = _open(ledger_settings)
    again = second.journal(SEND, None)
    assert again is not None
    with pytest.raises(ConfigurationError, match=r"batch 0 .* other objects"):
        again.decide(0, {"external_user_ids": ["someone", "else"]}, _items(0), 2, [])
    second.finish(succeeded=False)


def test_delivered_is_never_downgraded(ledger_settings: LedgerSettings) -> None:
    first = _open(ledger_settings)
    _record(first, {0: BatchState.DELIVERED})
    journal = first.journal(SEND, "input-2")  # a second bulk call of the same attempt
    assert journal is not None
    first.finish(succeeded=True)
    store = open_store(ledger_settings)
    try:
        store.transaction(lambda s: batches.settled(s, "run-1", 0, 0, BatchState.FAILED))
        states = store.transaction(lambda s: list(batches.batches(s, "run-1", 0)))
        assert [(b, state) for b, state, _ in states] == [(0, BatchState.DELIVERED)]
        assert store.transaction(lambda s: runs.run(s, "run-1")).status == "closed"
    finally:
        store.close()


def test_a_succeeded_run_resumed_finds_everything_delivered(ledger_settings: LedgerSettings) -> None:
    first = _open(ledger_settings)
    _record(first, {0: BatchState.DELIVERED, 1: BatchState.DELIVERED})
    first.finish(succeeded=True)
    again = _open(ledger_settings)
    journal = again.journal(SEND, "input-1")
    assert journal is not None
    assert [journal.decide(i, _body(i), _items(i), 2, []) for i in (0, 1)] == [Decision.SKIP_DELIVERED] * 2
    again.finish(succeeded=True)


def test_runs_under_other_keys_never_see_each_other(ledger_settings: LedgerSettings) -> None:
    # shards: a run fingerprint each (the shard is part of it), so neither is the other's resubmit
    a = _open(ledger_settings, key="shard-0", fingerprint="f-0/2")
    b = _open(ledger_settings, key="shard-1", fingerprint="f-1/2")
    _record(a, {0: BatchState.DELIVERED})
    journal = b.journal(SEND, "input-1")
    assert journal is not None
    assert journal.decide(0, _body(0), _items(0), 2, []) is Decision.SEND
    a.finish(succeeded=True)
    b.finish(succeeded=True)


def test_without_a_run_key_nothing_is_recorded() -> None:
    assert not DISABLED.enabled
    assert DISABLED.journal(SEND, "x") is None
    assert DISABLED.summary() is None
    DISABLED.finish(succeeded=True)  # nothing to close


def test_an_unreachable_store_is_retryable_and_a_bad_path_is_configuration_neither_naming_a_secret(
    tmp_path: Path,
) -> None:
    secret = "p4ssw0rd-canary"
    settings = LedgerSettings(store="postgres", dsn=f"postgresql://u:{secret}@127.0.0.1:9/db", timeout=2)
    with pytest.raises(RetryableError) as info:  # connection refused: the server may be restarting
        RunLedger.open(settings, key="k", job="J", fingerprint="f")
    assert "ledger: cannot open" in str(info.value) and secret not in str(info.value)
    assert info.value.exit_code == 75
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(ConfigurationError, match="ledger: cannot open"):
        RunLedger.open(LedgerSettings(path=blocked / "ledger.sqlite3"), key="k", job="J", fingerprint="f")


def test_postgres_needs_a_dsn() -> None:
    with pytest.raises(ValueError, match="needs dsn"):
        LedgerSettings(store="postgres")
    assert "p4ss" not in repr(LedgerSettings(store="postgres", dsn="postgresql://u:p4ss@h/db"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_each_input_is_asked_for_its_fingerprint_once_per_call(tmp_path: Path) -> None:
    """Hashing a file is the costly part: both fingerprints of a call come from one look."""
    asked: list[str] = []

    class File(list[str]):
        def fingerprint(self) -> str:
            asked.append("file")
            return "sha"

    found = fingerprints_of_inputs(File(["u1"]), ())
    assert found is not None and found.fanout == found.inputs and asked == ["file"]  # uncut: the same
    path = tmp_path / "ids.txt"
    path.write_text("u1\n")
    hashed: list[Path] = []

    def sha(path: Path = path) -> str:
        hashed.append(path)
        return file_fingerprint(path)

    sharded = fingerprints_of_inputs(Shard(1, 2).select(Counted(lambda: iter(["u1"]), fingerprint=sha)))
    assert sharded is not None and sharded.fanout is not None and hashed == [path]  # a file hashed once


def test_fingerprints_are_canonical_json_so_a_later_version_reads_an_earlier_ledger() -> None:
    # the documented format, spelled out: sorted keys, no whitespace, UTF-8, Paths as text
    assert digest({"b": [1, 2], "a": "é"}) == _sha('{"a":"é","b":[1,2]}')
    assert digest({"path": Path("/data/x")}) == _sha('{"path":"/data/x"}')
    assert run_fingerprint("J", {"x": 1}) == _sha('{"job":"J","params":{"x":1}}')
    assert run_fingerprint("J", None, "0/4") == _sha('{"job":"J","params":{},"shard":"0/4"}')


def test_an_input_fingerprint_is_known_only_when_every_input_gives_one(tmp_path: Path) -> None:
    class Known:
        def fingerprint(self) -> str:
            return "abc"

    class Unknown:
        def fingerprint(self) -> None:
            return None

    class Odd:
        def fingerprint(self) -> object:
            return 42  # not a string: it says nothing

    assert _inputs((), Known()) == _sha('["empty","abc"]')
    assert _inputs([], ()) == _sha('["empty","empty"]')
    assert _inputs(Known(), ["a", "b"]) is None  # a plain list cannot say what it is
    assert _inputs(Known(), Unknown()) is None
    assert _inputs(Known(), Odd()) is None
    assert _inputs(iter(["a"])) is None
    (tmp_path / "f").write_bytes(b"x" * (3 << 20) + b"tail")  # several chunks
    assert file_fingerprint(tmp_path / "f") == hashlib.sha256(b"x" * (3 << 20) + b"tail").hexdigest()


@pytest.mark.parametrize(
    ("dsn", "secret", "code"),
    [
        ("postgresql://jobframe:s3cr%ZZet@localhost/db", "s3cr%ZZet", 78),  # malformed: libpq quotes it
        ("password=hunter2 hunter3", "hunter", 78),
        ("postgresql://u:pw-123456@127.0.0.1:1/db?connect_timeout=1", "pw-123456", 75),  # refused
        ("host=/nonexistent user=u password=zz-secret-zz", "zz-secret-zz", 75),  # no server (yet)
        ("postgresql://u:pw-port-99@localhost:99999/db", "pw-port-99", 78),  # libpq refuses the port
        ("postgresql://u:pw-ssl-77@localhost/db?sslmode=bogus", "pw-ssl-77", 78),  # and the sslmode
    ],
)
def test_a_store_that_cannot_be_opened_never_shows_the_password(dsn: str, secret: str, code: int) -> None:
    with pytest.raises(JobframeError) as caught:
        open_store(LedgerSettings(store="postgres", dsn=dsn, timeout=1))
    assert caught.value.exit_code == code, caught.value
    message = str(caught.value)
    assert message.startswith("ledger: cannot open the PostgreSQL server: ")
    assert secret not in message and "\n" not in message


@pytest.mark.parametrize(
    ("value", "relative"),
    [
        ({"inc": 1}, True),
        ({"add": ["x"]}, True),
        ({"remove": ["x"]}, True),
        ({"$add": [{"id": 1}]}, True),
        ({"$update": []}, True),
        ({"nested": {"inc": 1}}, False),  # a nested object value is set as a whole
        ({"color": "blue"}, False),
        ("gold", False),
        (["a", "b"], False),  # an array set whole: the same again
    ],
)
def test_attribute_updates_that_add_to_a_value_are_not_repeated(value: object, relative: bool) -> None:
    body = {"attributes": [{"external_id": "u0", "plan": "x"}, {"external_id": "u1", "score": value}]}
    assert updates_relatively(body) is relative
    assert is_idempotent(TRACK, ["attributes"], body) is not relative
    assert records_start(TRACK, ["attributes"], body) is relative
    expected = Decision.SKIP_AMBIGUOUS if relative else Decision.RESEND_AMBIGUOUS
    assert decide(BatchState.STARTED, TRACK, ["attributes"], resend_ambiguous=False, body=body) is expected
    assert decide(BatchState.STARTED, TRACK, ["attributes"], resend_ambiguous=True, body=body) is (
        Decision.RESEND_AMBIGUOUS
    )
    assert updates_relatively(None) is False and updates_relatively({"events": [{"inc": 1}]}) is False
    # one object at a time, as a ledger's batches are cut (only the one with ``value`` may add)
    assert [adds_to_a_value(obj) for obj in body["attributes"]] == [False, relative]
    assert adds_to_a_value("gold") is False  # not an attribute object at all


def test_a_caller_that_stops_waiting_neither_runs_its_work_nor_stops_the_writer(tmp_path: Path) -> None:
    from jobframe.ledger.writer import Writer  # noqa: PLC0415

    writer = Writer(open_store(LedgerSettings(path=tmp_path / "l.sqlite3")))
    release, ran = threading.Event(), []
    try:
        busy = writer.submit(lambda store: release.wait(5))
        abandoned = writer.submit(lambda store: ran.append("abandoned"))
        assert abandoned.cancel()  # what an async wait that timed out or was cancelled does
        release.set()
        assert busy.result(5) is True
        assert writer.submit(lambda store: ran.append("after") or "alive").result(5) == "alive"
        assert ran == ["after"]
    finally:
        writer.close(5)


def test_reads_are_never_journaled_so_a_resumed_export_returns_every_user() -> None:
    from jobframe.braze._operations import Planner  # noqa: PLC0415
    from jobframe.braze._settings import BatchSizes  # noqa: PLC0415

    planner = Planner(BatchSizes(), retry_unsafe=False)
    ids = Counted(lambda: iter(["u1", "u2"]), lambda: 2, fingerprint=lambda: "f")
    assert planner.export_users(external_ids=ids).batched is False
    assert planner.track_users(attributes=ids).batched is True  # what changes something is


@pytest.mark.parametrize(
    ("operation", "names"),
    [
        ("send_message", {"segment_id": "s1"}),
        ("send_message", {"broadcast": True}),
        ("send_message", {"audience": {"AND": []}}),
        ("trigger_campaign", {"broadcast": True}),
        ("trigger_canvas", {"audience": {"AND": []}}),
    ],
)
def test_a_send_to_an_audience_is_journaled_as_one_batch_that_may_not_be_repeated(
    operation: str, names: dict[str, Any]
) -> None:
    """A send that lists no users (a segment, everyone, a filter) reaches the most: with a run
    ledger it is recorded like a batch of one, so a retry never sends it again."""
    from jobframe.braze._delivery import batch_ids  # noqa: PLC0415
    from jobframe.braze._operations import Planner  # noqa: PLC0415
    from jobframe.braze._settings import BatchSizes  # noqa: PLC0415

    sends = operation == "send_message"
    args: dict[str, Any] = {"messages": {"apple_push": {"alert": "hi"}}} if sends else {}
    target = () if sends else ("target-1",)
    ledgered = getattr(Planner(BatchSizes(), retry_unsafe=False, recorded=True), operation)
    plan = ledgered(*target, **args, **names)
    assert plan.batched and plan.fingerprint is not None
    [call] = list(plan.calls)
    assert call.batch_index == 0
    assert records_start(plan.endpoint.path, call.items, call.json)
    assert batch_ids(call.json) == [names]  # what a resume lists as ambiguous, since no user is
    plain = getattr(Planner(BatchSizes(), retry_unsafe=False), operation)(*target, **args, **names)
    assert plain.batched is False  # no ledger: nothing to record it in, nothing changes
