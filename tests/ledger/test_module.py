"""LedgerModule's resource: it claims the run key, and a run without one loads no store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobframe import RunContext
from jobframe.errors import JobframeError
from jobframe.ledger import DISABLED, LedgerSettings, open_ledger


def test_the_ledger_claims_the_key_even_when_opening_is_refused(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    context = RunContext(job="J", run_id="r", run_key="wf-1")
    with pytest.raises(JobframeError):
        open_ledger(LedgerSettings(path=blocked / "ledger.sqlite3"), context)
    assert context.run_key_claimed_by == "jobframe.ledger"
    assert context.summary() == {"resume": {"run_key": "wf-1", "opened": False}}


def test_the_ledger_without_a_run_key_claims_nothing_and_loads_no_store() -> None:
    context = RunContext(job="J", run_id="r")
    assert open_ledger(LedgerSettings(), context) is DISABLED
    assert context.run_key_claimed_by is None and context.summary() == {}


@pytest.mark.process
def test_loading_the_ledger_module_never_loads_the_store_or_sqlite3() -> None:
    """A run without a run key pays for no store: only RunLedger.open loads it."""
    code = (
        "import sys; from jobframe.ledger import DISABLED, LedgerModule, RunLedger; "
        "print(sorted(m for m in ('sqlite3', 'jobframe.ledger.store', 'jobframe.ledger.writer',"
        " 'jobframe.ledger.opening') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
