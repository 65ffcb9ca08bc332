"""Whatever escapes the CLI, the process still ends through ``os._exit`` with a documented code.

The interpreter's own shutdown restores the default SIGTERM/SIGINT handlers before it frees the
modules (and runs their destructors), so a process that ends that way can be killed by a signal's
default action — exit -15, no ``process.exit`` — the one thing the lifecycle promises never
happens (docs/lifecycle.md, "never killed"). ``apps/escaping.py`` raises a ``BaseException`` while
it is imported and holds the shutdown open in a destructor, if the process ever gets there.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from .jobproc import Record, running, signal_state

pytestmark = pytest.mark.process


def _held_or_exited(proc: object, record: Path, timeout: float = 30.0) -> bool:
    """``True`` once the app holds the interpreter's shutdown; ``False`` once the process exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ("hold", "shutdown", "-") in Record.read(record).lines:
            return True
        if proc.wait_exit(0.01):  # type: ignore[attr-defined]
            return False
    raise AssertionError(f"neither held nor exited within {timeout}s")


def test_an_exception_escaping_the_cli_never_leaves_the_process_to_a_signals_default(tmp_path: Path) -> None:
    record, go = tmp_path / "record.txt", tmp_path / "go"
    env = {"HOSTILE_GO": str(go)}
    with running("Anything", app="escaping:Container", record=record, env=env) as proc:
        if _held_or_exited(proc, record):
            state = signal_state(proc.pid)
            proc.send_group(signal.SIGTERM)
            go.touch()
            code = proc.wait(10)
            raise AssertionError(
                f"the process went into the interpreter's shutdown (SIGTERM then: {state}); "
                f"a SIGTERM there ended it with {code}:\n{proc.output}"
            )
        code = proc.wait(10)
    assert code == 1, proc.output
    assert "Escape: raised while the app was imported" in proc.stderr, "the traceback, as Python prints it"
    exit_line = proc.one("process.exit")
    assert exit_line["exit_code"] == 1
    assert exit_line["error_type"] == "escaping.Escape"
    assert proc.order()[-1:] == ["process.exit"]
