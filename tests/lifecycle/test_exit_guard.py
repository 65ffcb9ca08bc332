"""The exit guard: whatever a job leaves running, the process ends within --exit-grace."""

from __future__ import annotations

from pathlib import Path

import pytest

from .jobproc import pid_alive, running

pytestmark = pytest.mark.process


def test_leaked_non_daemon_timer_exits_within_grace(tmp_path: Path) -> None:
    with running("LeakTimer", "--exit-grace", "1") as proc:
        finished = proc.wait_for("job.finished")
        code = proc.wait(10)
    assert code == 0, proc.output
    assert proc.exited_at is not None
    assert proc.exited_at - finished.at < 1.0 + 0.5, f"{proc.exited_at - finished.at:.3f}s after job.finished"
    lingering = proc.one("process.lingering")
    names = [t["name"] for t in lingering["threads"]]
    assert names == ["leaky-timer"]
    assert lingering["threads"][0]["stack"], "the lingering thread's stack is reported"
    exit_event = proc.one("process.exit")
    assert exit_event["abandoned_threads"] == ["leaky-timer"]
    assert 1.0 <= exit_event["exit_latency_s"] < 1.5


def test_exit_grace_zero_exits_at_once(tmp_path: Path) -> None:
    with running("LeakTimer", "--exit-grace", "0") as proc:
        finished = proc.wait_for("job.finished")
        code = proc.wait(10)
    assert code == 0
    assert proc.exited_at is not None and proc.exited_at - finished.at < 0.5
    assert proc.one("process.lingering")["threads"][0]["name"] == "leaky-timer"


def test_clean_job_exits_fast_without_lingering(tmp_path: Path) -> None:
    with running("Holder", params={"seconds": 0}, record=tmp_path / "r.txt") as proc:
        finished = proc.wait_for("job.finished")
        code = proc.wait(10)
    assert code == 0, proc.output
    assert "process.lingering" not in proc.order()
    assert proc.exited_at is not None and proc.exited_at - finished.at < 0.5
    assert proc.one("process.exit")["exit_latency_s"] < 0.1
    assert proc.one("process.exit")["abandoned_threads"] == []


def test_leaked_child_is_reported_and_not_left_running(tmp_path: Path) -> None:
    with running("LeakChild", "--exit-grace", "0.5") as proc:
        child = proc.wait_for("app.child").event["child_pid"]  # type: ignore[index]
        finished = proc.wait_for("job.finished")
        code = proc.wait(10)
    assert code == 0, proc.output
    lingering = proc.one("process.lingering")
    assert {"pid": child, "ppid": proc.pid, "cmdline": "sleep 60"} in lingering["children"]
    # grace 0.5 s, then SIGTERM and at most 0.5 s more before SIGKILL
    assert proc.exited_at is not None and proc.exited_at - finished.at < 0.5 + 0.5 + 0.5
    assert not pid_alive(child), f"child {child} outlived jobframe"
