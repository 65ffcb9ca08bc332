"""``--registered``: an attempt told that the workflow registered its key before any attempt ran
must find the key, whatever its retry number (``argo retry`` restarts a failed step at 0) and
whatever else the store holds — both stores; and the option's bad values (docs/resume.md,
"A retried workflow")."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from jobframe._cli.args import parse_args
from jobframe.errors import UsageError
from jobframe.ledger import LedgerSettings, runs
from jobframe.ledger.failures import LedgerDamagedError
from jobframe.ledger.store import describe, open_store
from tests.cli.test_bad_input import SOME_JOB, refused
from tests.conftest import run_cli
from tests.ledger.stores import open_run


def _register(settings: LedgerSettings, *keys: str) -> None:
    store = open_store(settings)
    try:
        for key in keys:
            store.transaction(lambda s, k=key: runs.register(s, k))
    finally:
        store.close()


def _keys(settings: LedgerSettings) -> dict[str, tuple[str, int]]:
    store = open_store(settings)
    try:
        return {row.key: (row.status, row.attempts) for row, _ in runs.every_run(store)}
    finally:
        store.close()


@pytest.mark.parametrize("retry", [0, 1, 3])
def test_a_registered_key_missing_from_a_new_store_is_refused_at_any_retry(
    ledger_settings: LedgerSettings, retry: int
) -> None:
    with pytest.raises(LedgerDamagedError) as refused_:
        open_run(ledger_settings, "wf-uid", registered=True, retry=retry)
    message = str(refused_.value)
    assert refused_.value.exit_code == 78
    assert "run key 'wf-uid'" in message and "registered this key before any attempt" in message
    assert "and no run at all" in message and "nothing was sent" in message
    assert "store the workflow began with" in message and "--fresh-run" in message
    assert describe(ledger_settings) in message  # where it looked (never the DSN's password)
    assert "wf-uid" not in _keys(ledger_settings)  # a refusal leaves nothing behind


@pytest.mark.parametrize("retry", [0, 2])
def test_a_registered_key_missing_from_a_store_holding_other_runs_is_refused(
    ledger_settings: LedgerSettings, retry: int
) -> None:
    # another workflow's runs, registered and opened: this store is in use, but not the one
    # this workflow began with
    _register(ledger_settings, "other-uid")
    open_run(ledger_settings, "other-started").finish(succeeded=False)
    with pytest.raises(LedgerDamagedError, match="registered this key before any attempt") as refused_:
        open_run(ledger_settings, "wf-uid", registered=True, retry=retry)
    assert "no run at all" not in str(refused_.value)
    assert sorted(_keys(ledger_settings)) == ["other-started", "other-uid"]
    # without --registered the store cannot tell: a first attempt starts, a retry starts saying so
    with capture_logs() as logs:
        ledger = open_run(ledger_settings, "wf-uid", retry=retry)
    said = [e["event"] for e in logs if e["event"] == "ledger.retry_without_record"]
    assert said == (["ledger.retry_without_record"] if retry else [])
    assert ledger.attempt == 1
    ledger.finish(succeeded=False)


@pytest.mark.parametrize("retry", [0, 2])
def test_a_registered_attempt_that_finds_its_key_proceeds_as_without_the_option(
    ledger_settings: LedgerSettings, retry: int
) -> None:
    _register(ledger_settings, "wf-uid")
    first = open_run(ledger_settings, "wf-uid", registered=True, retry=retry)  # registered: starts
    assert first.attempt == 1 and not first.resumed
    first.finish(succeeded=False)
    again = open_run(ledger_settings, "wf-uid", registered=True, retry=0)  # open: resumes (argo retry)
    assert again.attempt == 2 and again.resumed
    again.finish(succeeded=False)
    assert _keys(ledger_settings) == {"wf-uid": ("open", 2)}


def test_fresh_run_starts_a_registered_key_the_ledger_has_no_record_of(
    ledger_settings: LedgerSettings,
) -> None:
    ledger = open_run(ledger_settings, "wf-uid", registered=True, fresh=True)
    assert ledger.attempt == 1
    ledger.finish(succeeded=True)
    assert _keys(ledger_settings) == {"wf-uid": ("closed", 1)}


# -- the option ----------------------------------------------------------------------------------


def test_registered_comes_from_the_flag_or_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBFRAME_REGISTERED", raising=False)
    assert parse_args(["--job-name", "J"]).registered is False
    assert parse_args(["--job-name", "J", "--registered"]).registered is True
    for value, expected in (("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False),
                            ("false", False), ("No", False), ("off", False), ("", False)):  # fmt: skip
        monkeypatch.setenv("JOBFRAME_REGISTERED", value)
        assert parse_args(["--job-name", "J"]).registered is expected, value
    monkeypatch.setenv("JOBFRAME_REGISTERED", "0")
    assert parse_args(["--job-name", "J", "--registered"]).registered is True  # the flag wins
    for bad in ("maybe", "2", "  ", "y e s"):
        monkeypatch.setenv("JOBFRAME_REGISTERED", bad)
        with pytest.raises(
            UsageError, match=r"environment variable JOBFRAME_REGISTERED: .* not a yes/no value"
        ):
            parse_args(["--job-name", "J"])


@pytest.mark.process
@pytest.mark.parametrize(
    ("args", "env", "needles"),
    [
        (["--registered=yes", "--run-key", "k"], {}, ["--registered", "takes no value"]),
        (["--registered"], {}, ["--registered", "give --run-key"]),
        ([], {"JOBFRAME_REGISTERED": "1"}, ["--registered", "give --run-key"]),
        (["--run-key", "k"], {"JOBFRAME_REGISTERED": "maybe"}, ["JOBFRAME_REGISTERED", "'maybe'"]),
        (["--run-key", "k"], {"JOBFRAME_REGISTERED": "2"}, ["JOBFRAME_REGISTERED", "yes/no"]),
    ],
    ids=["flag-with-a-value", "flag-without-key", "variable-without-key", "variable-maybe", "variable-2"],
)
def test_bad_registered_input_is_one_line_and_exit_2(
    args: list[str], env: dict[str, str], needles: list[str]
) -> None:
    refused(run_cli([*SOME_JOB, *args], env=env), 2, *needles)
