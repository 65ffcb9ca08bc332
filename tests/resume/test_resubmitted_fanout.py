"""A resubmitted fan-out (``argo resubmit`` of a workflow one of whose shards failed): a new
workflow, so new run keys ``{{workflow.uid}}-N``, for every shard — the ones that finished too.

A shard that finished closed its run, and a closed run does not stop a new one (the same file sent
again tomorrow is a new run). But the fan-out it belongs to did not finish: its new shard must be
refused like the failed one, or it sends again to every user the first workflow's shard reached.
Real processes, both stores, the fake Braze's request log the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobframe.ledger import LedgerSettings, runs
from jobframe.ledger.store import open_store
from tests.ledger.stores import fresh_database

from .harness import SEND, Attempt, bulk_job, fake_braze, ledger_env, write_ids

pytestmark = pytest.mark.process

IDS = 2000
PUSH = {"title": "Hello", "body": "Once"}


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "sqlite":
        return ledger_env("sqlite", tmp_path)
    dsn = fresh_database(request.getfixturevalue("postgres_dsn"), f"f{abs(hash(request.node.nodeid))}")
    return ledger_env("postgres", tmp_path, dsn)


def test_a_resubmitted_fanout_refuses_every_shard_while_the_first_one_is_unfinished(
    tmp_path: Path, ledger: dict[str, str]
) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze(latency=0.002) as (fake, server):

        def shard(key: str, index: int, *args: str, **kw: Any) -> Attempt:
            options = ["--shard", f"{index}/2", *args]
            return bulk_job("SendPushFromFile", params, server, ledger, run_key=key, args=options, **kw)

        # the first workflow: shard 0 killed mid-run, shard 1 finishes
        assert shard("wf1-0", 0, fake=fake, kill_on_request=5).code == -9
        assert shard("wf1-1", 1).code == 0
        reached = fake.ids_sent()
        before = len(fake.requests_to(SEND))

        # argo resubmit: a new workflow, new keys, every shard again
        again = [shard("wf2-0", 0), shard("wf2-1", 1)]
        assert [a.code for a in again] == [78, 78], [a.output for a in again]
        assert len(fake.requests_to(SEND)) == before  # nothing sent again
        refusal = again[1].one("job.finished")["error_message"]
        assert "run key 'wf2-1'" in refusal and "the fan-out 'wf1'" in refusal and "wf1-0" in refusal
        assert "--new-run" in refusal

        # the first workflow, retried, finishes; the fan-out is whole, each id once
        retried = shard("wf1-0", 0, "--retry-number", "1")
        assert retried.code == 0, retried.output
        sent = fake.ids_sent()
        assert [i for i, n in sent.items() if n > 1] == []
        assert set(ids) - set(sent) <= retried.ambiguous_ids()
        assert set(reached) <= set(sent)

        # once every shard finished, a new run of the same input is a new run: it is not refused
        tomorrow = [shard("wf3-0", 0), shard("wf3-1", 1)]
        assert [a.code for a in tomorrow] == [0, 0], [a.output for a in tomorrow]


def test_a_resubmitted_fanout_is_refused_when_a_shard_of_the_first_never_started(
    tmp_path: Path, ledger: dict[str, str]
) -> None:
    """The register step recorded both keys; shard 0's pod was lost before main and the workflow
    failed; shard 1 finished. A resubmit refuses both new shards: the new shard 1 would repeat
    every send of the first one, and the first fan-out's shard 0 is still to run."""
    write_ids(tmp_path / "ids.txt", IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    settings = LedgerSettings(
        store="postgres" if "LEDGER__DSN" in ledger else "sqlite",
        dsn=ledger.get("LEDGER__DSN"),
        path=Path(ledger.get("LEDGER__PATH", ".jobframe/ledger.sqlite3")),
    )
    store = open_store(settings)  # what the register-ledger step does
    try:
        store.transaction(lambda s: [runs.register(s, f"wf1-{i}") for i in range(2)])
    finally:
        store.close()
    with fake_braze(latency=0.002) as (fake, server):

        def shard(key: str, index: int, *args: str) -> Attempt:
            options = ["--shard", f"{index}/2", *args]
            return bulk_job("SendPushFromFile", params, server, ledger, run_key=key, args=options)

        assert shard("wf1-1", 1, "--registered").code == 0
        before = len(fake.requests_to(SEND))
        again = [shard("wf2-0", 0), shard("wf2-1", 1)]
        assert [a.code for a in again] == [78, 78], [a.output for a in again]
        assert len(fake.requests_to(SEND)) == before
        assert all("its unfinished shards: wf1-0)" in a.one("job.finished")["error_message"] for a in again)
        assert shard("wf1-0", 0, "--registered").code == 0  # argo retry of the first fan-out
        assert [i for i, n in fake.ids_sent().items() if n > 1] == []


def test_the_shards_of_one_fanout_never_refuse_each_other(tmp_path: Path, ledger: dict[str, str]) -> None:
    """One shard killed mid-run (unfinished, having reached users): its siblings still run, and
    its retry finishes it — none of them is taken for another fan-out."""
    ids = write_ids(tmp_path / "ids.txt", IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze(latency=0.002) as (fake, server):

        def shard(index: int, *args: str, **kw: Any) -> Attempt:
            options = ["--shard", f"{index}/3", *args]
            return bulk_job(
                "SendPushFromFile", params, server, ledger, run_key=f"wf-{index}", args=options, **kw
            )

        assert shard(0, fake=fake, kill_on_request=3).code == -9
        attempts = [shard(1), shard(0, "--retry-number", "1"), shard(2)]
        assert [a.code for a in attempts] == [0, 0, 0], [a.output for a in attempts]
        sent = fake.ids_sent()
        assert [i for i, n in sent.items() if n > 1] == []
        assert set(ids) - set(sent) <= attempts[1].ambiguous_ids()


# -- a resubmit cut into another number of shards ------------------------------------------------
# ``argo resubmit`` with another shard count (the run was slow: 8 shards this time), a fan-out
# rerun as one step, a single step rerun as a fan-out: new run keys, the same file. Batches of
# another cut fall elsewhere, but the users are the same: an unfinished run over that file stops
# the new one whatever shards either was cut in — or every user it reached gets the push again.

RESHAPED_IDS = 600


def _retry_reaches_each_id_once(run: Callable[..., Attempt], fake: Any, ids: list[str], *args: str) -> None:
    """The first run's retry finishes it: no id twice, every id received or listed ambiguous."""
    retried = run(*args, "--retry-number", "1")
    assert retried.code == 0, retried.output
    sent = fake.ids_sent()
    assert [i for i in ids if sent[i] > 1] == []
    assert {i for i in ids if not sent[i]} <= retried.ambiguous_ids()


def _runner(params: dict[str, Any], server: Any, ledger: dict[str, str]) -> Callable[..., Attempt]:
    def run(key: str, *args: str, **kw: Any) -> Attempt:
        return bulk_job("SendPushFromFile", params, server, ledger, run_key=key, args=list(args), **kw)

    return run


def test_a_single_step_resubmitted_as_a_fanout_is_refused_until_it_finishes(
    tmp_path: Path, ledger: dict[str, str]
) -> None:
    ids = write_ids(tmp_path / "ids.txt", RESHAPED_IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze(latency=0.002) as (fake, server):
        run = _runner(params, server, ledger)
        # a key that ends in digits, as a date does: it must not be taken for a shard's
        assert run("nightly-2026-11-26", fake=fake, kill_on_request=4).code == -9
        before = len(fake.requests_to(SEND))
        again = [run(f"wf2-{i}", "--shard", f"{i}/3") for i in range(3)]
        assert [a.code for a in again] == [78, 78, 78], [a.output for a in again]
        assert len(fake.requests_to(SEND)) == before  # nothing sent again
        refusal = again[0].one("job.finished")["error_message"]
        assert "run key 'wf2-0'" in refusal and "nightly-2026-11-26" in refusal and "--new-run" in refusal
        # the same file at another path (an artifact mounted per workflow): other parameters, same users
        copy = tmp_path / "wf9" / "ids.txt"
        copy.parent.mkdir()
        copy.write_bytes((tmp_path / "ids.txt").read_bytes())
        elsewhere = _runner({**params, "path": copy}, server, ledger)("wf9")
        assert elsewhere.code == 78, elsewhere.output
        assert len(fake.requests_to(SEND)) == before

        _retry_reaches_each_id_once(run, fake, ids, "nightly-2026-11-26")

        # finished: the same file tomorrow is a new run, cut either way
        assert run("nightly-2026-11-27").code == 0
        # a key that names no fan-out, killed mid-run, then its file resubmitted from another path
        other_ids = write_ids(tmp_path / "other.txt", RESHAPED_IDS, prefix="p")
        copy.write_bytes((tmp_path / "other.txt").read_bytes())
        plain = _runner({**params, "path": tmp_path / "other.txt"}, server, ledger)
        assert plain("plain", fake=fake, kill_on_request=3).code == -9
        refusal = _runner({**params, "path": copy}, server, ledger)("plain-2").one("job.finished")[
            "error_message"
        ]
        assert "run key 'plain' is sending this job's /messages/send call with the same input and" in refusal
        _retry_reaches_each_id_once(plain, fake, other_ids, "plain")
        assert run("wf3-0", "--shard", "0/2").code == 0


def test_a_fanout_resubmitted_with_another_shard_count_or_as_one_step_is_refused(
    tmp_path: Path, ledger: dict[str, str]
) -> None:
    ids = write_ids(tmp_path / "ids.txt", RESHAPED_IDS)
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze(latency=0.002) as (fake, server):
        run = _runner(params, server, ledger)
        # the first workflow: 2 shards, shard 0 killed mid-run, shard 1 finishes
        assert run("wf1-0", "--shard", "0/2", fake=fake, kill_on_request=3).code == -9
        assert run("wf1-1", "--shard", "1/2").code == 0
        before = len(fake.requests_to(SEND))

        again = [run(f"wf2-{i}", "--shard", f"{i}/3") for i in range(3)]
        again.append(run("wf4"))  # the same fan-out resubmitted as one step
        assert [a.code for a in again] == [78, 78, 78, 78], [a.output for a in again]
        assert len(fake.requests_to(SEND)) == before
        assert all("wf1-0" in a.one("job.finished")["error_message"] for a in again)
        assert "the fan-out 'wf1'" in again[3].one("job.finished")["error_message"]

        _retry_reaches_each_id_once(run, fake, ids, "wf1-0", "--shard", "0/2")
        assert run("wf5-1", "--shard", "1/3").code == 0  # the first fan-out finished: a new run
