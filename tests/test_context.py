"""RunContext: the run key is claimed by whoever records the run under it, never looked up by name."""

from __future__ import annotations

from jobframe import RunContext
from jobframe.observe.progress import Progress


def test_a_run_key_is_unclaimed_until_someone_claims_it() -> None:
    context = RunContext(job="J", run_id="r", run_key="wf-1")
    assert context.run_key_claimed_by is None
    assert context.claim_run_key("jobframe.ledger") == "wf-1"
    assert context.run_key_claimed_by == "jobframe.ledger"


def test_without_a_run_key_there_is_nothing_to_claim() -> None:
    context = RunContext(job="J", run_id="r")
    assert context.claim_run_key("jobframe.ledger") is None
    assert context.run_key_claimed_by is None


def test_the_context_hands_its_progress_and_deadline_to_its_observer() -> None:
    progress = Progress(None)
    context = RunContext(job="J", run_id="r", progress=progress)
    assert context.observer.progress is progress
    assert context.observer.deadline is context.deadline
