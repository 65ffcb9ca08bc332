"""A resource still being opened when the supervisor takes the run over is abandoned, never closed
from the supervisor's thread (which ran its generator while the main thread was inside it:
``resource.close_failed: generator already executing``)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.lifecycle.jobproc import JobProcess, jobframe_cmd

pytestmark = pytest.mark.process

APPS = Path(__file__).resolve().parent / "apps"


def test_a_resource_still_opening_is_abandoned_not_closed_from_another_thread() -> None:
    cmd = jobframe_cmd("UsesStubborn", "--cancel-grace", "0.3", app="entering:Container")
    proc = JobProcess("UsesStubborn", cmd=cmd, cwd=APPS)
    proc.wait_for("entering.inside")  # the main thread is inside the generator now
    proc.send(signal.SIGTERM)
    assert proc.wait() == 143
    events = [line.event for line in proc.lines if line.event]
    assert not [e for e in events if e["event"] == "resource.close_failed"], proc.output
    assert "generator already executing" not in proc.output
    abandoned = [e for e in events if e["event"] == "teardown.timeout"]
    assert len(abandoned) == 1, proc.output
    (abandoned,) = abandoned
    assert abandoned["resource"] == "stubborn"
    assert [e["event"] for e in events][-1] == "process.exit"
