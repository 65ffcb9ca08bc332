"""A resubmitted fan-out is judged as a whole: refused while another fan-out over the same input
that reached someone is unfinished; a fan-out's own shards never refuse each other.

In-process, against both stores (PostgreSQL a real server); the same through real processes in
``tests/resume/test_resubmitted_fanout.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobframe.errors import ConfigurationError
from jobframe.ledger import BatchState, LedgerSettings, RunLedger, runs
from jobframe.ledger.fanout import fanout_of_key
from jobframe.ledger.store import open_store

SEND = "/messages/send"


def _open(settings: LedgerSettings, key: str, **kw: Any) -> RunLedger:
    options: dict[str, Any] = {"job": "Job", "fingerprint": "f1", **kw}
    return RunLedger.open(settings, key=key, **options)


def _send(ledger: RunLedger, index: int) -> None:
    journal = ledger.journals[0]
    future = journal.before_send(
        index, {"external_user_ids": [f"u{index}"]}, {"external_user_ids": (index, index + 1)}, 1
    )
    assert future is not None
    future.result(5)
    journal.settled(index, BatchState.DELIVERED)


def _shard(settings: LedgerSettings, key: str, index: int, **kw: Any) -> RunLedger:
    """A run of shard ``index`` of 2 (its own run fingerprint), its call over input ``fan``."""
    return _open(settings, key, fingerprint=f"f1 shard {index}/2", shard=index, **kw)


def _shard_call(ledger: RunLedger, fan: str = "fan-1") -> None:
    assert ledger.journal(SEND, f"{fan}-{ledger.shard}", fanout=fan) is not None


def test_a_resubmitted_fanout_is_refused_while_a_shard_of_the_first_is_unfinished(
    ledger_settings: LedgerSettings,
) -> None:
    first = [_shard(ledger_settings, f"wf1-{i}", i) for i in range(2)]
    for ledger in first:
        _shard_call(ledger)
        _send(ledger, 0)
    first[0].finish(succeeded=False)  # failed: its run stays open
    first[1].finish(succeeded=True)  # finished: its run is closed
    resubmitted = _shard(ledger_settings, "wf2-1", 1)
    with pytest.raises(ConfigurationError) as refused:
        _shard_call(resubmitted)
    message = str(refused.value)
    assert "run key 'wf2-1'" in message and "the fan-out 'wf1'" in message
    assert "its unfinished shards: wf1-0)" in message and "reaching 1 user so far" in message
    assert "argo retry" in message and "--new-run" in message
    resubmitted.finish(succeeded=False)
    for key, fan, options in [
        ("wf3-1", "fan-2", {}),  # another input
        ("wf3-x", "fan-1", {}),  # a key that does not name its fan-out: its own earlier shard only
        ("wf5-1", "fan-1", {"new_run": True}),  # the explicit opt-out
    ]:
        ledger = _shard(ledger_settings, key, 1, **options)
        _shard_call(ledger, fan)  # not refused
        ledger.finish(succeeded=False)
    retried = _shard(ledger_settings, "wf1-0", 0)  # the first fan-out's shard, retried, finishes
    _shard_call(retried)
    retried.finish(succeeded=True)
    tomorrow = _shard(ledger_settings, "wf4-1", 1)  # every shard finished: a new fan-out is a new run
    _shard_call(tomorrow)
    tomorrow.finish(succeeded=True)


def test_a_resubmitted_fanout_is_refused_while_a_shard_of_the_first_never_started(
    ledger_settings: LedgerSettings,
) -> None:
    """The register step recorded both keys; shard 0's pod was lost before it ran, shard 1
    finished: the first fan-out is unfinished, and its shard 1 reached its users."""
    store = open_store(ledger_settings)
    try:
        store.transaction(lambda s: [runs.register(s, f"wf1-{i}") for i in range(2)])
    finally:
        store.close()
    finished = _shard(ledger_settings, "wf1-1", 1, registered=True)
    _shard_call(finished)
    _send(finished, 0)
    finished.finish(succeeded=True)
    for index in range(2):  # the new shard 1 would repeat wf1-1's sends; shard 0 would run beside wf1-0
        resubmitted = _shard(ledger_settings, f"wf2-{index}", index)
        with pytest.raises(ConfigurationError, match="its unfinished shards: wf1-0\\)"):
            _shard_call(resubmitted)
        resubmitted.finish(succeeded=False)
    lost = _shard(ledger_settings, "wf1-0", 0, registered=True)  # argo retry of the first: not refused
    _shard_call(lost)
    lost.finish(succeeded=True)


def test_the_shards_of_one_fanout_never_refuse_each_other(ledger_settings: LedgerSettings) -> None:
    failed = _shard(ledger_settings, "wf-0", 0)
    _shard_call(failed)
    _send(failed, 0)
    failed.finish(succeeded=False)
    sibling = _shard(ledger_settings, "wf-1", 1)  # the unfinished one is of its own fan-out
    _shard_call(sibling)
    sibling.finish(succeeded=True)


@pytest.mark.parametrize(
    ("key", "shard", "fanout"),
    [
        ("uid-3", 3, "uid"),
        ("a-b-12", 12, "a-b"),
        ("uid-3", 2, None),  # a key that does not end in its own shard's index
        ("uid-13", 3, None),
        ("run-1-20261207", 1, None),
        ("uid3", 3, None),
        ("uid-0", None, None),  # the whole input
        ("-0", 0, None),  # no name left
    ],
)
def test_the_fanout_a_shards_run_key_names(key: str, shard: int | None, fanout: str | None) -> None:
    assert fanout_of_key(key, shard) == fanout


def test_a_fanouts_shards_are_the_keys_that_name_it_and_nothing_else(
    ledger_settings: LedgerSettings,
) -> None:
    """A fan-out's shards are ``<fan-out>-<digits>``: keys that only start like them (another
    fan-out's, one that names none) are not its unfinished shards; registered ones are; they are
    listed in order; a fan-out whose shards all finished is passed over for the next one."""
    older = _shard(ledger_settings, "old-1", 1)  # reached users, then left unfinished by a key beside it
    _shard_call(older)
    _send(older, 0)
    older.finish(succeeded=True)
    done = _shard(ledger_settings, "done-1", 1)  # newer, every shard finished: no reason to refuse
    _shard_call(done)
    _send(done, 0)
    done.finish(succeeded=True)
    loner = _open(ledger_settings, "loner", fingerprint="f1 other", shard=1)  # names no fan-out
    assert loner.journal(SEND, "fan-1-9", fanout="fan-1") is not None
    _send(loner, 0)
    loner.finish(succeeded=True)  # unfinished, it would refuse as itself (a whole run's rule)
    lookalikes = ["old-x", "old-1-0", "oldx-0", "old-", "-0", "old-1x"]
    store = open_store(ledger_settings)
    try:
        store.transaction(lambda s: [runs.register(s, k) for k in lookalikes])
    finally:
        store.close()
    passed = _shard(ledger_settings, "new-0", 0)
    _shard_call(passed)  # no fan-out over this input has an unfinished shard
    passed.finish(succeeded=False)
    store = open_store(ledger_settings)
    try:
        store.transaction(lambda s: [runs.register(s, k) for k in ("old-2", "old-10", "done-x")])
    finally:
        store.close()
    refused = _shard(ledger_settings, "newer-1", 1)
    with pytest.raises(ConfigurationError) as error:
        _shard_call(refused)
    message = str(error.value)
    assert "the fan-out 'old'" in message and "its run key 'old-1' reaching 1 user so far" in message
    assert "(its unfinished shards: old-10, old-2)" in message
    assert "did not finish" in message  # none of its shards holds a lease
    refused.finish(succeeded=False)


def test_a_fanout_an_earlier_version_recorded_is_found_by_what_it_recorded(
    ledger_settings: LedgerSettings,
) -> None:
    """Before a fan-out's fingerprint left the shard count out, each shard's call recorded the
    count-kept one (``fanout_before``): a fan-out left unfinished across an upgrade still refuses
    its resubmit, which asks by both."""
    first = [_shard(ledger_settings, f"wf1-{i}", i) for i in range(2)]
    for ledger in first:
        _shard_call(ledger, "fan-in-2-shards")  # what an earlier version recorded
        _send(ledger, 0)
    first[0].finish(succeeded=False)
    first[1].finish(succeeded=True)
    unaware = _shard(ledger_settings, "wf2-1", 1)  # asked by the new fingerprint alone: not found
    assert unaware.journal(SEND, "fan-1-1", fanout="fan-whole") is not None
    unaware.finish(succeeded=True)
    resubmitted = _shard(ledger_settings, "wf3-1", 1)
    with pytest.raises(ConfigurationError, match=r"the fan-out 'wf1'.*its unfinished shards: wf1-0\)"):
        resubmitted.journal(SEND, "fan-1-1", fanout="fan-whole", fanout_before="fan-in-2-shards")
    resubmitted.finish(succeeded=False)


@pytest.mark.parametrize(
    "stem",
    ["nightly-2026-11-2", "3f2a9c1e-5b7d-4e21-9a6f-12345678901", "export-"],
    ids=["a-date", "a-uuid-with-a-digits-tail", "a-counter"],
)
def test_whole_runs_whose_keys_end_in_digits_are_no_fanout(
    ledger_settings: LedgerSettings, stem: str
) -> None:
    """A whole run is matched by its key alone, however it ends: a finished run over a file never
    makes another open run (over another file) an "unfinished shard" that refuses a new run of it."""
    yesterday = _open(ledger_settings, f"{stem}6")
    assert yesterday.journal(SEND, "send-file-f", fanout="file-f") is not None
    _send(yesterday, 0)
    yesterday.finish(succeeded=True)
    other = _open(ledger_settings, f"{stem}7", fingerprint="f2")  # another file, failed: open
    assert other.journal(SEND, "send-file-g", fanout="file-g") is not None
    _send(other, 0)
    other.finish(succeeded=False)
    today = _open(ledger_settings, f"{stem}8")
    assert today.journal(SEND, "send-file-f", fanout="file-f") is not None  # not refused
    _send(today, 0)
    today.finish(succeeded=False)  # left open: a shard over the same file now meets it, as a run
    shard = _shard(ledger_settings, "wf-1", 1)
    with pytest.raises(ConfigurationError) as refused:
        shard.journal(SEND, "send-file-f-1", fanout="file-f")
    message = str(refused.value)
    assert f"run key {stem + '8'!r} already sent" in message and "the fan-out" not in message


def test_a_run_that_recorded_another_input_is_no_shard_of_a_fanout_its_key_names(
    ledger_settings: LedgerSettings,
) -> None:
    first = [_shard(ledger_settings, f"wf1-{i}", i) for i in range(2)]
    for ledger in first:
        _shard_call(ledger)
        _send(ledger, 0)
    first[0].finish(succeeded=True)
    first[1].finish(succeeded=False)  # unfinished: refuses a resubmit
    lookalike = _open(ledger_settings, "wf1-7", fingerprint="f9")  # a whole run over another input
    assert lookalike.journal(SEND, "other-input", fanout="other") is not None
    lookalike.finish(succeeded=False)
    resubmitted = _shard(ledger_settings, "wf2-0", 0)
    with pytest.raises(ConfigurationError, match=r"its unfinished shards: wf1-1\)"):
        _shard_call(resubmitted)
    resubmitted.finish(succeeded=False)
