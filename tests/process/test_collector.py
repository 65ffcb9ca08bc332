"""jobframe/_process/collector.py: the collector paused during startup, then on with the imports frozen."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.process  # each case changes the interpreter's collector: a fresh one each


def state_after(code: str) -> str:
    prelude = "import gc; from jobframe._process.collector import pause_collector, resume_collector; "
    show = "; print(gc.isenabled(), gc.get_freeze_count() > 0)"
    out = subprocess.run(
        [sys.executable, "-c", prelude + code + show], capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.strip()


def test_paused_collects_nothing_until_resumed() -> None:
    assert state_after("pause_collector()") == "False False"
    code = (
        "pause_collector(); before = gc.get_count()[0]; x = [[] for _ in range(5000)]; "
        "assert gc.get_count()[0] > before + 4000"
    )
    assert state_after(code) == "False False"  # 5,000 allocations and no collection ran


def test_resumed_the_collector_is_on_and_what_was_loaded_is_frozen() -> None:
    assert state_after("pause_collector(); resume_collector()") == "True True"


def test_resume_without_pause_changes_nothing() -> None:
    assert state_after("resume_collector()") == "True False"


def test_a_collector_turned_off_by_the_program_stays_off() -> None:
    """An embedding program that disabled the collector itself keeps it that way."""
    assert state_after("gc.disable(); pause_collector(); resume_collector()") == "False False"


def test_resume_freezes_once() -> None:
    code = (
        "pause_collector(); resume_collector(); n = gc.get_freeze_count(); "
        "x = [[] for _ in range(100)]; resume_collector(); assert gc.get_freeze_count() == n"
    )
    assert state_after(code) == "True True"
