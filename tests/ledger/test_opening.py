"""Opening a run the register step recorded: the first attempt fills it in; a retry that finds
it is not taken for a lost ledger; a retry that finds nothing in a new store still is (both stores)."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from jobframe.errors import ConfigurationError
from jobframe.ledger import LedgerSettings, runs
from jobframe.ledger.failures import LedgerDamagedError
from jobframe.ledger.lease import LeaseHeldError
from jobframe.ledger.store import open_store
from tests.ledger.stores import open_run


def _register(settings: LedgerSettings, *keys: str) -> list[bool]:
    store = open_store(settings)
    try:
        return [bool(store.transaction(lambda s, k=k: runs.register(s, k))) for k in keys]
    finally:
        store.close()


def _row(settings: LedgerSettings, key: str) -> tuple[str, str, str, int]:
    store = open_store(settings)
    try:
        row = runs.run(store, key)
        assert row is not None
        return row.job, row.fingerprint, row.status, row.attempts
    finally:
        store.close()


@pytest.mark.parametrize("retry", [0, 1, 3])
def test_the_first_attempt_to_open_a_registered_run_fills_it_in(
    ledger_settings: LedgerSettings, retry: int
) -> None:
    assert _register(ledger_settings, "k") == [True]
    assert _row(ledger_settings, "k") == ("", "", "registered", 0)
    with capture_logs() as logs:
        ledger = open_run(ledger_settings, "k", retry=retry)
    assert ledger.attempt == 1
    told = [e for e in logs if e["event"] == "ledger.retry_of_registered_run"]
    assert [e["retry"] for e in told] == ([retry] if retry else [])
    assert _row(ledger_settings, "k") == ("Job", "f1", "open", 1)
    # one holder per key, registered or not: a second attempt meanwhile is refused (75)
    with pytest.raises(LeaseHeldError):
        open_run(ledger_settings, "k", retry=retry + 1)
    ledger.finish(succeeded=False)
    # once filled in it is an ordinary run: another job or parameters are refused again
    with pytest.raises(ConfigurationError, match="other parameters"):
        open_run(ledger_settings, "k", fingerprint="f2", retry=retry + 1)
    again = open_run(ledger_settings, "k", retry=retry + 1)
    assert again.attempt == 2
    again.finish(succeeded=True)


def test_registering_is_idempotent_and_leaves_a_started_run_as_it_is(ledger_settings: LedgerSettings) -> None:
    assert _register(ledger_settings, "a", "b") == [True, True]
    assert _register(ledger_settings, "a", "b") == [False, False]
    open_run(ledger_settings, "a").finish(succeeded=False)
    assert _register(ledger_settings, "a") == [False]
    assert _row(ledger_settings, "a") == ("Job", "f1", "open", 1)


def test_a_retry_with_no_record_in_a_new_store_is_still_refused(ledger_settings: LedgerSettings) -> None:
    # registering other keys does not vouch for this one's store being the earlier attempts'
    with pytest.raises(LedgerDamagedError, match="ledger may be lost"):
        open_run(ledger_settings, "lost", retry=1)


def test_a_fresh_run_of_a_registered_key_starts_it(ledger_settings: LedgerSettings) -> None:
    _register(ledger_settings, "k")
    ledger = open_run(ledger_settings, "k", fresh=True, retry=1)
    assert ledger.attempt == 1 and _row(ledger_settings, "k") == ("Job", "f1", "open", 1)
    ledger.finish(succeeded=True)
