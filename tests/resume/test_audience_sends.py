"""A send to a whole audience (a segment, everyone, an audience filter) is sent once per run key.

Such a send lists no users: it is one request, not batches — and it reaches the most people. With
a run key it is recorded like a batch of one: *started* before its request, *delivered* after its
2xx. So a retry after a later failure skips it, and a retry after a kill between its request and
its answer lists it ambiguous, naming the audience, and does not send it again. Real processes
against the fake Braze, whose request log is the truth, in both stores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import test_kill_and_resume as _kill
from .harness import Attempt, bulk_job, fake_braze

pytestmark = pytest.mark.process
ledger = _kill.ledger  # the fixture: each store, a database of its own

APP = ("--app", "tests.resume.audience_app:Main")
ENDPOINTS = {
    "segment": "/messages/send",
    "broadcast": "/messages/send",
    "audience": "/messages/send",
    "campaign_broadcast": "/campaigns/trigger/send",
    "canvas_audience": "/canvas/trigger/send",
}


def _attempt(kind: str, server: object, env: dict[str, str], retry: int, **kw: object) -> Attempt:
    args = (*APP, "--retry-number", str(retry))
    return bulk_job("AudienceSend", {"kind": kind}, server, env, run_key="wf-1", args=args, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", list(ENDPOINTS))
def test_a_retry_after_a_later_failure_does_not_send_to_the_audience_again(
    tmp_path: Path, ledger: dict[str, str], kind: str
) -> None:
    env = {**ledger, "AUDIENCE_FAIL_ONCE": str(tmp_path / "failed-once")}
    with fake_braze(latency=0) as (fake, server):
        first = _attempt(kind, server, env, 0)
        assert first.code == 75, first.output
        retry = _attempt(kind, server, env, 1)
        assert retry.code == 0, retry.output
        sent = len(fake.requests_to(ENDPOINTS[kind]))
    assert sent == 1, f"the {kind} send reached Braze {sent} times over two attempts of one run"
    assert retry.resume["skipped"] == {"batches": 1, "objects": 0}
    assert retry.resume["ambiguous"] == []


def test_a_send_to_a_segment_killed_before_its_answer_is_listed_ambiguous_not_repeated(
    tmp_path: Path, ledger: dict[str, str]
) -> None:
    with fake_braze(latency=0) as (fake, server):
        killed = _attempt("segment", server, ledger, 0, fake=fake, kill_on_request=1)
        assert killed.code == -9, killed.output
        retry = _attempt("segment", server, ledger, 1)
        assert retry.code == 0, retry.output
        sent = len(fake.requests_to("/messages/send"))
    assert sent == 1, f"the segment send reached Braze {sent} times"
    [ambiguous] = retry.resume["ambiguous"]
    assert ambiguous["endpoint"] == "/messages/send"
    assert ambiguous["ids"] == [{"segment_id": "segment-1"}]


def test_a_run_refused_after_sending_to_users_and_to_a_segment_says_fresh_run_repeats_both(
    tmp_path: Path, ledger: dict[str, str]
) -> None:
    """The refusal's advice names what ``--fresh-run`` would send again: the users the run listed
    and the request that listed none — the one that reaches the most — not the users alone."""
    env = {**ledger, "AUDIENCE_FAIL_ONCE": str(tmp_path / "failed-once")}
    with fake_braze(latency=0) as (fake, server):
        first = bulk_job(
            "AudienceSend", {"kind": "segment", "users": 12}, server, env, run_key="wf-1", args=APP
        )
        assert first.code == 75, first.output
        sent = len(fake.requests)
        retry = (*APP, "--retry-number", "1")
        other = {"kind": "broadcast", "users": 12}  # other parameters under the same run key
        refused = bulk_job("AudienceSend", other, server, env, run_key="wf-1", args=retry)
        sent_while_refused = len(fake.requests) - sent
    assert refused.code == 78, refused.output
    assert "other parameters" in refused.output
    assert (
        "--fresh-run starts this key over and sends again to the 12 users it already reached and "
        "the 1 request it made to a segment, an audience or everyone"
    ) in refused.output, refused.output
    assert sent_while_refused == 0
