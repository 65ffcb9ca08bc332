"""A batch answered 429 and waiting out its ``Retry-After`` when the deadline ends the attempt.

Braze applied nothing of a batch it answered 429 (docs/resume.md: *failed* after 400, 401, 429):
the retry must send it, not withhold it as ambiguous — nothing of it was in flight when the
attempt ended. The wait (an hour, within ``rate_limit.max_wait``) outlasts ``--timeout``, so the
deadline is what ends the attempt: 124, then the retry. The sync client (``SendPushFromFile``) and
the async one (``UpdateUserAttributes`` with increments, one batch at a time) alike. Real
processes; the fake's request log is the truth, the 429'd request left out of what was applied.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from .harness import SEND, TRACK, bulk_job, fake_braze, ledger_env, write_ids

pytestmark = pytest.mark.process

IDS = 600


def _increments(path: Path, count: int) -> list[str]:
    ids = [f"c{i:06d}" for i in range(count)]
    path.write_text("".join(json.dumps({"external_id": i, "logins": {"inc": 1}}) + "\n" for i in ids))
    return ids


def _applied(requests: list[object], refused: int) -> Counter[str]:
    """Each id's count over the requests Braze applied (all but the one it answered 429)."""
    counts: Counter[str] = Counter()
    for n, request in enumerate(requests):
        body = getattr(request, "json", None) or {}
        if n != refused:
            counts.update(body.get("external_user_ids") or [])
            counts.update(obj["external_id"] for obj in body.get("attributes") or [])
    return counts


@pytest.mark.parametrize("job", ["SendPushFromFile", "UpdateUserAttributes"])
def test_a_batch_waiting_out_a_429_when_the_deadline_comes_is_sent_by_the_retry(
    tmp_path: Path, job: str
) -> None:
    ledger = {**ledger_env("sqlite", tmp_path), "BRAZE__RATE_LIMIT__MAX_WAIT": "7200"}
    if job == "SendPushFromFile":
        ids, path = write_ids(tmp_path / "ids.txt", IDS), SEND
        params: dict[str, object] = {"path": tmp_path / "ids.txt", "title": "Hi", "body": "Once"}
    else:
        ids, path = _increments(tmp_path / "users.jsonl", IDS), TRACK
        params = {"path": tmp_path / "users.jsonl"}
    with fake_braze(latency=0.002) as (fake, server):

        def rate_limited(_pid: int) -> None:  # this (3rd) request: 429, come back in 50 s
            fake.fail_next(path, status=429, headers={"Retry-After": "50"}, rate_limit_headers=False)

        first = bulk_job(
            job, params, server, ledger, run_key="rl", args=["--timeout", "10"], fake=fake,
            on_request=(3, rate_limited),
        )  # fmt: skip
        assert first.code == 124, first.output
        retry = bulk_job(job, params, server, ledger, run_key="rl", args=["--retry-number", "1"])
        assert retry.code == 0, retry.output
        assert retry.ambiguous_ids() == set()  # nothing was in flight when the deadline came
        applied = _applied(list(fake.requests_to(path)), refused=2)
        assert [i for i in ids if applied[i] != 1] == []


def test_a_batch_waiting_to_be_repeated_after_a_5xx_when_the_deadline_comes_stays_ambiguous(
    tmp_path: Path,
) -> None:
    """The other side: with ``retry_unsafe`` a 5xx is waited out and sent again — but Braze may
    have applied it, so a deadline in that pause leaves it ambiguous: withheld, never repeated."""
    ledger = {**ledger_env("sqlite", tmp_path), "BRAZE__RATE_LIMIT__MAX_WAIT": "7200"}
    ids = write_ids(tmp_path / "ids.txt", IDS)
    params = {"path": tmp_path / "ids.txt", "title": "Hi", "body": "Once", "retry_unsafe": "true"}
    with fake_braze(latency=0.002) as (fake, server):

        def server_error(_pid: int) -> None:  # this (3rd) request: 503, come back in an hour
            fake.fail_next(SEND, status=503, headers={"Retry-After": "3600"})

        first = bulk_job(
            "SendPushFromFile", params, server, ledger, run_key="5x", args=["--timeout", "10"], fake=fake,
            on_request=(3, server_error),
        )  # fmt: skip
        assert first.code == 124, first.output
        again = ["--retry-number", "1"]
        retry = bulk_job("SendPushFromFile", params, server, ledger, run_key="5x", args=again)
        assert retry.code == 0, retry.output
        assert retry.ambiguous_ids() == set(ids[100:150])
        applied = _applied(list(fake.requests_to(SEND)), refused=2)
        assert [i for i in ids if applied[i] != (0 if i in ids[100:150] else 1)] == []
