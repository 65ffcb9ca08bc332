"""Deadlines: the job is cancelled before the deadline, torn down, and exits 124."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .jobproc import JobProcess, running

APP = "hostile:Container"

pytestmark = pytest.mark.process


def _rfc3339(seconds_from_now: float) -> str:
    at = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _assert_cancelled_before_deadline(proc: JobProcess, code: int, source: str) -> None:
    assert code == 124, proc.output
    started = proc.one("job.started")
    assert started["deadline_source"] == source
    deadline = datetime.fromisoformat(started["deadline"].replace("Z", "+00:00")).timestamp()
    assert proc.exited_wall is not None
    assert proc.exited_wall < deadline, f"exited {proc.exited_wall - deadline:.3f}s after the deadline"
    finished = proc.one("job.finished")
    assert finished["status"] == "deadline_exceeded"
    assert finished["exit_code"] == 124
    order = proc.order()
    assert "deadline.reached" in order
    # teardown is logged, after job.finished and before the process ends
    closed = [i for i, name in enumerate(order) if name == "resource.closed"]
    assert closed, proc.output
    assert order.index("job.finished") < min(closed)
    assert max(closed) < order.index("process.exit") == len(order) - 1
    assert proc.record().opened and proc.record().still_open() == []


@pytest.mark.parametrize("job", ["Holder", "AsyncHolder"])
def test_timeout_cancels_before_the_deadline(tmp_path: Path, job: str) -> None:
    # 6 s: room for a slow interpreter start, so the margin is the one asked for (with less than
    # twice the margin left, the schedule halves it)
    args = ("--timeout", "6", "--deadline-margin", "0.7")
    with running(job, *args, params={"seconds": 30}, record=tmp_path / "record.txt") as proc:
        code = proc.wait(10)
    _assert_cancelled_before_deadline(proc, code, "--timeout")
    # not cancelled early: the cancel is armed exactly the margin before the deadline, and fires
    # then or later (a loaded machine runs a timer late, never early) — and still before the
    # deadline, which the check above holds
    started = proc.one("job.started")
    deadline = _instant(started["deadline"])
    margin = started["seconds_left"] - started["cancel_in_s"]  # both taken at one instant
    assert margin == pytest.approx(0.7, abs=0.002)
    armed = deadline - margin
    assert _instant(proc.one("deadline.reached")["timestamp"]) >= armed - 0.005


def test_argo_deadline_from_the_environment(tmp_path: Path) -> None:
    env = {"ARGO_DEADLINE": _rfc3339(2.5)}
    with running(
        "Holder", "--deadline-margin", "1", params={"seconds": 30}, env=env, record=tmp_path / "r.txt"
    ) as proc:
        code = proc.wait(10)
    _assert_cancelled_before_deadline(proc, code, "ARGO_DEADLINE")


def test_deadline_flag(tmp_path: Path) -> None:
    args = ("--deadline", _rfc3339(2.5), "--deadline-margin", "1")
    with running("AsyncHolder", *args, params={"seconds": 30}, record=tmp_path / "r.txt") as proc:
        code = proc.wait(10)
    _assert_cancelled_before_deadline(proc, code, "--deadline")


def test_the_earliest_deadline_wins(tmp_path: Path) -> None:
    env = {"ARGO_DEADLINE": _rfc3339(3600)}
    args = ("--timeout", "2", "--deadline-margin", "0.7")
    with running("Holder", *args, params={"seconds": 30}, env=env, record=tmp_path / "r.txt") as proc:
        code = proc.wait(10)
    _assert_cancelled_before_deadline(proc, code, "--timeout")


def test_argo_zero_time_means_no_deadline(tmp_path: Path) -> None:
    env = {"ARGO_DEADLINE": "0001-01-01T00:00:00Z"}
    with running("Holder", params={"seconds": 0.3}, env=env, record=tmp_path / "r.txt") as proc:
        code = proc.wait(10)
    assert code == 0, proc.output
    started = proc.one("job.started")
    assert started["deadline"] is None and started["deadline_source"] is None
    assert "deadline.short" not in proc.order()


def test_short_deadline_warns_and_keeps_most_of_the_time(tmp_path: Path) -> None:
    # 3 s left but a 10 s margin: deadline.short at the start; the margin shrinks to what teardown
    # needs (--shutdown-timeout 5, but at most half the time left), so the job runs ~1.5 s, not zero,
    # and is still cancelled before the deadline
    with running("Holder", "--timeout", "3", params={"seconds": 30}, record=tmp_path / "r.txt") as proc:
        code = proc.wait(10)
    assert code == 124, proc.output
    short = proc.one("deadline.short")
    # --timeout counts from the process's start: what is left when the job starts depends on how
    # fast the interpreter started, never more than 3 s
    assert short["deadline_margin"] == 10.0 and 0.0 < short["seconds_left"] <= 3.0
    assert short["cancel_in_s"] == pytest.approx(short["seconds_left"] * 0.5, abs=0.01)
    assert proc.order().index("deadline.short") < proc.order().index("job.finished")
    # the job ran until its cancel (late on a loaded machine, never early), not zero
    assert short["cancel_in_s"] - 0.05 <= proc.one("job.finished")["duration_s"] < short["seconds_left"]
    assert proc.record().still_open() == []


def test_short_deadline_against_min_seconds_warns_but_runs(tmp_path: Path) -> None:
    # Reports needs 60 s (@job(min_seconds=60)); 30 s left is short but more than the margin
    with running("Reports", "--timeout", "30", "--deadline-margin", "1") as proc:
        code = proc.wait(10)
    assert code == 0, proc.output
    short = proc.one("deadline.short")
    assert short["min_seconds"] == 60.0 and short["seconds_left"] <= 30.0
    assert proc.one("job.finished")["status"] == "succeeded"


def test_enough_time_logs_no_warning(tmp_path: Path) -> None:
    with running("Holder", "--timeout", "60", params={"seconds": 0}) as proc:
        code = proc.wait(10)
    assert code == 0, proc.output
    assert "deadline.short" not in proc.order()
    assert proc.one("job.started")["seconds_left"] == pytest.approx(60, abs=2)


def test_the_deadline_reaches_c_code_that_holds_the_gil(tmp_path: Path) -> None:
    # a backtracking regex never lets another thread run: the supervisor, whose clock cancels the
    # job, never got to; only the platform's SIGKILL ended it. A kernel timer now wakes the main
    # thread at the supervisor's due time, and the regex, which checks for signals, gives way.
    with running(
        "LibraryJob",
        "--timeout",
        "4",
        app="hostile:Container",
        params={"shape": "regex"},
        record=tmp_path / "r",
    ) as proc:
        proc.wait_for("app.working")
        code = proc.wait(20)
        gone = proc.exited_at
    assert code == 124, proc.output
    assert gone is not None and gone - proc.started_at < 4.0, proc.output
    assert proc.one("job.finished")["status"] == "deadline_exceeded"
    assert proc.record().still_open() == []
