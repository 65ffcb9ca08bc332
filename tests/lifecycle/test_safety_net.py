"""The safety net on real processes: a close that blocks in C code is called once, abandoned at the
budget with the real wait reported, and never pushes the process past its deadline."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .jobproc import running

pytestmark = pytest.mark.process

APP = "hostile:Container"


@pytest.mark.parametrize("job", ["StdlibJob", "AsyncFlushJob"])
def test_a_close_blocking_in_c_is_called_once_and_abandoned_at_the_budget(tmp_path: Path, job: str) -> None:
    env = {"HOSTILE_FLUSH_S": "30"}
    args = ("--shutdown-timeout", "1", "--exit-grace", "1")
    params = {"shape": "c_close", "seconds": 0}
    with running(job, *args, params=params, env=env, record=tmp_path / "r.txt", app=APP) as proc:
        finished = proc.wait_for("job.finished")
        code = proc.wait(20)
    assert code == 0, proc.output
    timeout = proc.one("teardown.timeout")
    assert timeout["resource"] == "flush_client"
    assert 0.9 <= timeout["waited_s"] < 1.5, f"the real wait, not a constant: {timeout}"
    opened = [name for name in proc.record().opened if name != "R1"]
    assert opened == ["flush_client"], f"close() called once, never again while it runs: {opened}"
    assert proc.exited_at is not None and proc.exited_at - finished.at < 1.0 + 0.5, proc.output
    assert "process.lingering" not in proc.order(), "the abandoned close's thread is jobframe's own"


def test_a_close_blocking_in_c_never_pushes_the_process_past_its_deadline(tmp_path: Path) -> None:
    env = {"HOSTILE_FLUSH_S": "30"}
    started = time.time()
    args = ("--timeout", "5", "--shutdown-timeout", "3")
    with running("StdlibJob", *args, params={"shape": "c_close", "seconds": 600}, env=env,
                 record=tmp_path / "r.txt", app=APP) as proc:  # fmt: skip
        code = proc.wait(20)
    assert code == 124, proc.output
    assert proc.one("teardown.timeout")["resource"] == "flush_client"
    assert proc.record().opened == ["R1", "flush_client"], proc.output
    assert proc.exited_wall is not None
    # the teardown budget ends at the deadline at the latest; the exit follows at once
    assert proc.exited_wall < started + 5.0 + 0.1, (
        f"{proc.exited_wall - started - 5.0:.2f}s past the deadline"
    )


def test_an_object_with_only_an_unknown_stop_is_named_and_never_stopped(tmp_path: Path) -> None:
    with running("AsyncFlushJob", params={"seconds": 0}, record=tmp_path / "r.txt", app=APP) as proc:
        code = proc.wait(20)
    assert code == 0, proc.output
    named = {e["provider"]: e for e in proc.named("resource.unmanaged")}
    assert named["stoppable"]["action"] == "not closed" and named["stoppable"]["methods"] == "stop"
    assert named["stoppable"]["type"] == "stdlib_shapes.Stoppable"
    assert not any("STOPPED" in name for name in proc.record().closed), "stop() was called"
