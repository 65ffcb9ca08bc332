"""Proof by killing: a bulk job SIGKILLed anywhere, run again with the same run key, never sends twice.

Against a fake Braze whose request log is the truth, through real processes, in both stores:

* ``SendPushFromFile`` (``/messages/send``, at most once): no id reaches Braze twice, over every
  attempt; every id is received, or listed as ambiguous by the attempt that finishes; that
  attempt exits 0.
* ``UpdateUserAttributes`` (``/users/track`` attributes, idempotent): every object reaches Braze
  at least once.

Kills land at random points (the test's SIGKILL to the process group), and exactly between a
request and its record (the fake SIGKILLs the job when a chosen request arrives, before
answering). Argo's own retry flow is covered too: exit 75, 124 and 143, then the retry resumes.
"""

from __future__ import annotations

import random
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.ledger.stores import fresh_database

from .harness import (
    Attempt,
    bulk_job,
    fake_braze,
    ledger_env,
    write_attributes,
    write_counted_attributes,
    write_ids,
)

pytestmark = pytest.mark.process

IDS = 3000  # 60 sends of 50
PUSH = {"title": "Hello", "body": "Once"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.process)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "sqlite":
        return ledger_env("sqlite", tmp_path)
    dsn = fresh_database(request.getfixturevalue("postgres_dsn"), f"k{abs(hash(request.node.nodeid))}")
    return ledger_env("postgres", tmp_path, dsn)


def _check_sends(ids: list[str], sent: dict[str, int], final: Attempt) -> None:
    assert final.code == 0, final.output
    twice = [i for i, n in sent.items() if n > 1]
    assert twice == [], f"{len(twice)} ids reached Braze twice, e.g. {twice[:5]}"
    missing = set(ids) - set(sent) - final.ambiguous_ids()
    assert missing == set(), (
        f"{len(missing)} ids neither received nor listed ambiguous, e.g. {sorted(missing)[:5]}"
    )
    assert not set(sent) - set(ids)


def _cases(name: str, sqlite: list[object], postgres: list[object]) -> pytest.MarkDecorator:
    """Every case on SQLite, a subset on PostgreSQL: the store-specific part of the proof (the same
    store code answers both; CI time is spent where the stores differ: durability, concurrency)."""
    cases = [("sqlite", v) for v in sqlite] + [("postgres", v) for v in postgres]
    return pytest.mark.parametrize(("ledger", name), cases, indirect=["ledger"])


@_cases("seed", [1, 2, 3], [1, 2])
def test_a_send_killed_at_random_points_then_resumed_reaches_no_one_twice(
    tmp_path: Path, ledger: dict[str, str], seed: int
) -> None:
    rng = random.Random(seed)
    ids = write_ids(tmp_path / "ids.txt", IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze() as (fake, server):
        attempts = [
            bulk_job(
                "SendPushFromFile", params, server, ledger, run_key="k", kill_after=rng.uniform(0.1, 1.0)
            ),
            bulk_job(
                "SendPushFromFile", params, server, ledger, run_key="k", kill_after=rng.uniform(0.1, 1.0)
            ),
        ]
        final = bulk_job("SendPushFromFile", params, server, ledger, run_key="k")
        sent = fake.ids_sent()
    assert [a.code for a in attempts if a.code not in (-9, 0)] == [], [a.output for a in attempts]
    _check_sends(ids, sent, final)
    # every kill lands after its attempt opened the ledger (and so was counted)
    assert final.resume["attempt"] == 3


@_cases("request_number", [1, 17, 60], [17])
def test_killed_between_a_request_and_its_record_the_batch_is_ambiguous_and_never_repeated(
    tmp_path: Path, ledger: dict[str, str], request_number: int
) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze() as (fake, server):
        killed = bulk_job(
            "SendPushFromFile", params, server, ledger, run_key="k", fake=fake, kill_on_request=request_number
        )
        final = bulk_job("SendPushFromFile", params, server, ledger, run_key="k")
        sent = fake.ids_sent()
    assert killed.code == -signal.SIGKILL, killed.output
    _check_sends(ids, sent, final)
    # the batch Braze received while the job died is the one listed, not sent again
    ambiguous = final.resume["ambiguous"]
    assert [a["batch"] for a in ambiguous] == [request_number - 1]
    assert final.ambiguous_ids() <= set(sent)
    skipped = final.resume["skipped"]
    assert skipped["batches"] == request_number - 1 and skipped["objects"] == 50 * (request_number - 1)


def test_a_resend_of_the_ambiguous_batch_must_be_asked_for(tmp_path: Path, ledger: dict[str, str]) -> None:
    write_ids(tmp_path / "ids.txt", 500)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze() as (fake, server):
        bulk_job("SendPushFromFile", params, server, ledger, run_key="k", fake=fake, kill_on_request=4)
        final = bulk_job("SendPushFromFile", params, server, ledger, run_key="k", args=["--resend-ambiguous"])
        sent = fake.ids_sent()
    assert final.code == 0, final.output
    assert final.resume["resent_ambiguous"] == 1 and final.resume["ambiguous"] == []
    assert sorted(n for n in sent.values() if n > 1) == [2] * 50  # exactly that batch, twice: as asked


@_cases("seed", [4, 5], [4])
def test_attribute_updates_killed_and_resumed_reach_every_object(
    tmp_path: Path, ledger: dict[str, str], seed: int
) -> None:
    rng = random.Random(seed)
    ids = write_attributes(tmp_path / "users.jsonl", 6000)
    params = {"path": tmp_path / "users.jsonl"}
    with fake_braze() as (fake, server):
        first = bulk_job(
            "UpdateUserAttributes", params, server, ledger, run_key="a", kill_after=rng.uniform(0.05, 0.5)
        )
        final = bulk_job("UpdateUserAttributes", params, server, ledger, run_key="a")
        tracked = fake.objects_tracked()
    assert first.code in (-9, 0), first.output
    assert final.code == 0, final.output
    assert set(tracked) == set(ids)  # at least once each
    assert final.ambiguous_ids() == set()  # attribute updates are re-sent, never left ambiguous


def test_four_shards_killed_at_once_then_resumed_send_each_id_once(
    tmp_path: Path, ledger: dict[str, str]
) -> None:
    ids = write_ids(tmp_path / "ids.txt", 4 * 1000)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    rng = random.Random(7)
    with fake_braze() as (fake, server):

        def shard(index: int, kill: float | None) -> Attempt:
            return bulk_job(
                "SendPushFromFile",
                params,
                server,
                ledger,
                run_key=f"wf-uid-{index}",
                args=["--shard", f"{index}/4"],
                kill_after=kill,
            )

        with ThreadPoolExecutor(4) as pool:
            killed = list(pool.map(lambda i: shard(i, rng.uniform(0.1, 0.6)), range(4)))
            finals = list(pool.map(lambda i: shard(i, None), range(4)))
        sent = fake.ids_sent()
    assert all(a.code in (-9, 0) for a in killed), [a.output for a in killed if a.code not in (-9, 0)]
    assert all(f.code == 0 for f in finals), [f.output for f in finals if f.code != 0]
    ambiguous = set().union(*(f.ambiguous_ids() for f in finals))
    assert [i for i, n in sent.items() if n > 1] == []
    assert set(ids) - set(sent) - ambiguous == set()


@_cases("how", ["75", "124", "143"], ["75", "143"])
def test_the_retries_argo_makes_resume(tmp_path: Path, ledger: dict[str, str], how: str) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze() as (fake, server):
        if how == "75":  # Braze answers the 20th send 503: its outcome is unknown, the job exits 75
            first = bulk_job(
                "SendPushFromFile", params, server, ledger, run_key="k", fake=fake, fail_on_request=20
            )
        elif how == "124":
            # the fake holds the 3rd send: the deadline, not the end of the work, ends this attempt
            first = bulk_job(
                "SendPushFromFile", params, server, ledger, run_key="k", fake=fake, hold_request=3,
                args=["--timeout", "5"],
            )  # fmt: skip
        else:
            first = bulk_job(
                "SendPushFromFile", params, server, ledger, run_key="k", signal_after=(0.5, signal.SIGTERM)
            )
        final = bulk_job("SendPushFromFile", params, server, ledger, run_key="k")
        sent = fake.ids_sent()
    assert first.code == int(how), first.output
    _check_sends(ids, sent, final)
    assert final.resume["attempt"] == 2


def test_a_changed_input_refuses_to_resume_with_78_until_a_fresh_run(
    tmp_path: Path, ledger: dict[str, str]
) -> None:
    write_ids(tmp_path / "ids.txt", 500)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze() as (fake, server):
        bulk_job("SendPushFromFile", params, server, ledger, run_key="k", fake=fake, kill_on_request=3)
        write_ids(tmp_path / "ids.txt", 500, prefix="v")  # another list, same parameters
        before = len(fake.ids_sent())
        refused = bulk_job("SendPushFromFile", params, server, ledger, run_key="k")
        sent_while_refused = len(fake.ids_sent()) - before
        fresh = bulk_job("SendPushFromFile", params, server, ledger, run_key="k", args=["--fresh-run"])
    assert refused.code == 78, refused.output
    assert "reads another input" in refused.output and "--fresh-run" in refused.output
    assert sent_while_refused == 0  # refused before its first batch, from the file's fingerprint
    assert fresh.code == 0 and fresh.resume["attempt"] == 1


def test_changed_parameters_refuse_to_resume_with_78(tmp_path: Path, ledger: dict[str, str]) -> None:
    write_ids(tmp_path / "ids.txt", 500)
    with fake_braze() as (fake, server):
        bulk_job(
            "SendPushFromFile",
            {"path": tmp_path / "ids.txt", **PUSH},
            server,
            ledger,
            run_key="k",
            fake=fake,
            kill_on_request=3,
        )
        other = {"path": tmp_path / "ids.txt", "title": "Other", "body": "Once"}
        refused = bulk_job("SendPushFromFile", other, server, ledger, run_key="k")
    assert refused.code == 78, refused.output
    assert "other parameters" in refused.output


def test_without_a_run_key_nothing_is_recorded(tmp_path: Path) -> None:
    write_ids(tmp_path / "ids.txt", 200)
    with fake_braze() as (_fake, server):
        done = bulk_job(
            "SendPushFromFile",
            {"path": tmp_path / "ids.txt", **PUSH},
            server,
            {"LEDGER__PATH": str(tmp_path / "l.db")},
            run_key=None,
        )
    assert done.code == 0, done.output
    assert "resume" not in done.one("job.finished")
    assert not (tmp_path / "l.db").exists()


def test_two_shards_given_one_run_key_are_refused_rather_than_skip_each_others_batches(
    tmp_path: Path, ledger: dict[str, str]
) -> None:
    ids = write_ids(tmp_path / "ids.txt", 400)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze() as (fake, server):
        first = bulk_job(
            "SendPushFromFile", params, server, ledger, run_key="k", fake=fake, kill_on_request=2,
            args=["--shard", "0/2"],
        )  # fmt: skip
        other = bulk_job("SendPushFromFile", params, server, ledger, run_key="k", args=["--shard", "1/2"])
        sent = fake.ids_sent()
    assert first.code == -signal.SIGKILL, first.output
    assert other.code == 78, other.output
    assert "another shard" in other.output
    assert set(sent) <= set(ids) and max(sent.values()) == 1


def test_a_run_key_that_no_ledger_records_under_is_said_not_silent(tmp_path: Path) -> None:
    with fake_braze() as (_fake, server):
        done = bulk_job("Sleep", {"seconds": 0}, server, ledger_env("sqlite", tmp_path), run_key="k")
    assert done.code == 0, done.output
    warning = done.one("ledger.unused")
    assert warning["run_key"] == "k" and "LedgerModule" in warning["reason"]


@_cases("kill", ["request-8", "request-11", "random-1", "random-2"], ["request-11", "random-1"])
def test_increments_killed_leave_at_most_one_batch_ambiguous_and_none_applied_twice(
    tmp_path: Path, ledger: dict[str, str], kill: str
) -> None:
    """The async job at full concurrency: a kill — by the fake as a chosen request arrives, or at a
    random point — leaves at most one batch ambiguous, never one holding a plain set; no increment
    reaches Braze twice; every object is accounted for."""
    plain, adding = write_counted_attributes(tmp_path / "users.jsonl", 9000)
    params = {"path": tmp_path / "users.jsonl"}
    how, _, value = kill.partition("-")
    with fake_braze() as (fake, server):
        if how == "request":
            first = bulk_job(
                "UpdateUserAttributes",
                params,
                server,
                ledger,
                run_key="c",
                fake=fake,
                kill_on_request=int(value),
            )
        else:
            after = random.Random(int(value)).uniform(0.05, 0.5)
            first = bulk_job("UpdateUserAttributes", params, server, ledger, run_key="c", kill_after=after)
        final = bulk_job("UpdateUserAttributes", params, server, ledger, run_key="c")
        tracked = fake.objects_tracked()
    assert first.code in (-9, 0) and final.code == 0, final.output
    if how == "request":
        assert first.code == -9, first.output
    ambiguous = final.resume["ambiguous"]
    assert len(ambiguous) <= 1, ambiguous  # one request's worth per kill, not the batches in flight
    assert final.ambiguous_ids() <= set(adding)  # a plain set is re-sent, never left ambiguous
    assert [i for i in adding if tracked[i] > 1] == []
    assert set(adding) - set(tracked) - final.ambiguous_ids() == set()
    assert set(plain) <= set(tracked)
