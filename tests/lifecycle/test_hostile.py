"""Hostile jobs, one promise each: what jobframe says and does when a job misbehaves.

The matrix (``test_matrix.py``) checks the invariants on every shape; these check the lines a
user reads to find out what their job did — ``loop.blocked``, ``job.cancel_ignored``,
``signal.handler_replaced``, ``process.lingering`` — and the numbers the schedule promises.
All on real processes of ``apps/hostile.py``, signalled as Argo does (to the process group).
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobframe.deadline import Budget, Schedule

from .jobproc import APPS, JobProcess, child_env, pid_alive, running, wait_until_handling

pytestmark = pytest.mark.process

APP = "hostile:Container"


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@contextlib.contextmanager
def _hostile(job: str, shape: str, *args: str, **kwargs: Any) -> Iterator[JobProcess]:
    """``job`` of the hostile app with ``--param shape=SHAPE``; killed if the test leaves it running."""
    with running(job, *args, params={"shape": shape, "seconds": 600}, app=APP, **kwargs) as proc:
        yield proc


def _closed_all(proc: JobProcess) -> None:
    rec = proc.record()
    assert rec.opened and rec.still_open() == [], proc.output


# -- rows 1 and 2: an async job that blocks its event loop ---------------------------------------


def test_sigterm_reaches_an_async_job_blocking_its_loop(tmp_path: Path) -> None:
    with _hostile("AsyncShape", "block", record=tmp_path / "r") as proc:
        proc.wait_for("app.working")
        sent = proc.send_group(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 143, proc.output
    assert proc.exited_at is not None and proc.exited_at - sent < 1.0
    blocked = proc.one("loop.blocked")
    assert any("hostile.py" in line and "_block_or_spin" in line for line in blocked["where"]), blocked
    assert proc.one("job.finished")["status"] == "terminated"
    _closed_all(proc)


def test_the_deadline_reaches_an_async_job_blocking_its_loop(tmp_path: Path) -> None:
    at = datetime.now(UTC) + timedelta(seconds=4)
    env = {"ARGO_DEADLINE": at.isoformat().replace("+00:00", "Z")}
    with _hostile("AsyncShape", "block", env=env, record=tmp_path / "r") as proc:
        code = proc.wait(15)
    assert code == 124, proc.output
    assert proc.exited_wall is not None and proc.exited_wall < at.timestamp()
    order = proc.order()
    assert order.index("deadline.reached") < order.index("loop.blocked") < order.index("job.finished")
    _closed_all(proc)


# -- rows 3 and 4: one schedule ------------------------------------------------------------------


@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
def test_the_logged_cancel_time_is_the_armed_one_and_leaves_the_teardown_budget(
    tmp_path: Path, job: str
) -> None:
    with _hostile(job, "sleep", "--timeout", "8", "--shutdown-timeout", "3") as proc:
        code = proc.wait(15)
    assert code == 124, proc.output
    started = proc.one("job.started")
    short = proc.one("deadline.short")
    assert short["cancel_in_s"] == started["cancel_in_s"]
    armed = _instant(started["deadline"]) - (started["seconds_left"] - started["cancel_in_s"])
    reached = _instant(proc.one("deadline.reached")["timestamp"])
    assert reached >= armed - 0.005  # the logged time is the armed one: late only by load, never early
    # 8 s from the process start, minus a margin that covers --shutdown-timeout 3
    assert _instant(started["deadline"]) - armed >= 3.0 - 0.01
    assert proc.exited_wall is not None and proc.exited_wall < _instant(started["deadline"]), proc.output


@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
def test_slow_closes_all_finish_before_a_short_deadline(tmp_path: Path, job: str) -> None:
    # three closes of 0.5 s each and a deadline, at which the platform would SIGTERM; a margin of
    # 2.5 s holds them. The deadline leaves room for a slow interpreter start (a loaded machine
    # can take seconds): what is tested is the margin, not how fast the process started.
    env = {"LIFECYCLE_CLOSE_DELAY": "0.5"}
    args = ("--timeout", "12", "--deadline-margin", "2.5", "--shutdown-timeout", "2.5")
    with _hostile(job, "sleep", *args, env=env, record=tmp_path / "r") as proc:
        code = proc.wait(25)
    assert code == 124, proc.output
    started = proc.one("job.started")
    assert started["seconds_left"] - started["cancel_in_s"] >= 1.5  # the margin holds the teardown
    deadline = _instant(proc.one("job.started")["deadline"])
    assert proc.exited_wall is not None and proc.exited_wall < deadline, proc.output
    assert len(proc.named("resource.closed")) == 3 and "signal.received" not in proc.order()
    _closed_all(proc)


# -- row 5: a job that ignores its cancellation ----------------------------------------------------


@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
def test_a_job_ignoring_its_cancellation_is_abandoned_and_still_torn_down_before_the_deadline(
    tmp_path: Path, job: str
) -> None:
    with _hostile(job, "swallow", "--timeout", "6", record=tmp_path / "r") as proc:
        code = proc.wait(15)
    assert code == 124, proc.output
    ignored = proc.one("job.cancel_ignored")
    assert ignored["action"] == "abandoned" and any("hostile.py" in line for line in ignored["where"]), (
        ignored
    )
    reached = _instant(proc.one("deadline.reached")["timestamp"])
    deadline = _instant(proc.one("job.started")["deadline"])
    grace = Schedule(deadline - reached, Budget()).cancel_grace(0.0)  # the documented grace, then
    assert _instant(ignored["timestamp"]) - reached >= grace - 0.05  # late only by load, never early
    assert proc.exited_wall is not None and proc.exited_wall < _instant(proc.one("job.started")["deadline"])
    order = proc.order()
    assert order.index("job.cancel_ignored") < order.index("job.finished") < order.index("resource.closed")
    _closed_all(proc)


# -- row 6: signals repeated during teardown ------------------------------------------------------


@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
def test_sigterm_twice_during_teardown_still_closes_everything(tmp_path: Path, job: str) -> None:
    env = {"LIFECYCLE_CLOSE_DELAY": "0.3"}  # a 0.9 s teardown
    with _hostile(job, "sleep", env=env, record=tmp_path / "r") as proc:
        proc.wait_for("app.working")
        proc.send_group(signal.SIGTERM)
        proc.wait_for("job.finished")
        proc.send_group(signal.SIGTERM)
        proc.wait_for("resource.closed")
        proc.send_group(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 143, proc.output
    _closed_all(proc)


@pytest.mark.parametrize("signalled", [False, True])
def test_a_close_stuck_where_no_signal_reaches_is_abandoned_and_the_rest_still_closed(
    tmp_path: Path, signalled: bool
) -> None:
    # R3's close, the first one teardown runs, blocks every signal and sleeps: only the supervisor
    # thread can still act, and it must close R2 and R1 itself
    env = {"HOSTILE_CLOSE": "stuck", "HOSTILE_CLOSE_WHICH": "3"}
    with _hostile("SyncShape", "sleep", "--shutdown-timeout", "1", env=env, record=tmp_path / "r") as proc:
        proc.wait_for("app.working")
        proc.send_group(signal.SIGTERM)
        finished = proc.wait_for("job.finished")
        if signalled:  # the platform insists: noted, the bounds stay
            proc.send_group(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 143, proc.output
    assert proc.exited_at is not None and proc.exited_at - finished.at < 1.0 + 0.5 + 0.5
    timeout = proc.one("teardown.timeout")
    assert timeout["resource"] == "r3"
    assert 1.0 + 0.5 - 0.05 <= timeout["waited_s"] < 1.0 + 0.5 + 0.5, "the real wait: budget + takeover"
    assert proc.record().still_open() == ["R3"]  # the others closed, by the supervisor
    assert [e["resource"] for e in proc.named("resource.closed")] == ["r2", "r1"]
    assert proc.order()[-1] == "process.exit"


@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
def test_a_signal_the_kernel_hands_to_another_thread_still_reaches_a_waiting_job(
    tmp_path: Path, job: str
) -> None:
    with _hostile(job, "thread_signal", record=tmp_path / "r") as proc:
        working = proc.wait_for("app.working")
        code = proc.wait(10)
    assert code == 143, proc.output
    assert proc.exited_at is not None and proc.exited_at - working.at < 0.2 + 1.0  # not the 600 s wait
    _closed_all(proc)


def test_a_second_sigint_to_another_thread_during_a_blocked_close_exits_at_once(tmp_path: Path) -> None:
    env = {"HOSTILE_CLOSE": "wait", "HOSTILE_CLOSE_WHICH": "3", "HOSTILE_SIGNAL": "SIGINT2"}
    with _hostile("SyncShape", "sleep", env=env, record=tmp_path / "r") as proc:
        proc.wait_for("app.working")
        proc.send_group(signal.SIGTERM)
        finished = proc.wait_for("job.finished")
        code = proc.wait(10)
    assert code == 143, proc.output  # the first signal's code
    assert proc.exited_at is not None and proc.exited_at - finished.at < 0.2 + 0.1 + 1.0  # not the 5 s budget
    assert proc.one("process.exit")["forced"] is True


# -- row 7: descendants ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["child", "grandchild"])
def test_every_descendant_is_named_and_ended(tmp_path: Path, shape: str) -> None:
    with _hostile("SyncShape", shape, "--exit-grace", "0.5") as proc:
        child = proc.wait_for("app.child").event["pid"]  # type: ignore[index]
        code = proc.wait(10)
        lingering = proc.one("process.lingering")["children"]
        pids = [c["pid"] for c in lingering]
    assert code == 0, proc.output
    assert child in pids
    if shape == "grandchild":
        grandchild = next(c for c in lingering if c["ppid"] == child)
        # caught between bash's fork and its exec, the grandchild still shows bash's command line
        assert grandchild["cmdline"] in ("sleep 600", "bash -c sleep 600; echo done")
    assert not any(pid_alive(pid) for pid in pids), [c for c in lingering if pid_alive(c["pid"])]


# -- row 8: a job that installs its own SIGTERM handler --------------------------------------------


@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
@pytest.mark.parametrize("shape", ["handler", "ignore_handler"])
def test_a_replaced_sigterm_handler_is_noticed_and_sigterm_still_means_143(
    tmp_path: Path, job: str, shape: str
) -> None:
    with _hostile(job, shape, record=tmp_path / "r") as proc:
        proc.wait_for("signal.handler_replaced")
        proc.send_group(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 143, proc.output
    replaced = proc.one("signal.handler_replaced")
    assert replaced["signal"] == "SIGTERM" and replaced["handler"].startswith("hostile._on_term")
    assert proc.one("job.finished")["status"] == "terminated"
    _closed_all(proc)


@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
@pytest.mark.parametrize(
    ("shape", "handler"),
    [
        ("raw_handler", "hostile._on_term_exit"),
        # faulthandler's C handler, through a reference taken before the run: only what the kernel
        # calls says so (before, nothing noticed and the SIGTERM was swallowed whole)
        ("raw_fault_handler", "a handler outside Python (faulthandler, C code)"),
    ],
)
def test_a_handler_that_really_replaced_jobframes_is_found_and_jobframes_put_back(
    tmp_path: Path, job: str, shape: str, handler: str
) -> None:
    with _hostile(job, shape, record=tmp_path / "r") as proc:
        replaced = proc.wait_for("signal.handler_replaced", timeout=5).event
        assert replaced is not None and replaced["handler"] == handler
        assert not proc.wait_exit(0.5)  # still running: nothing asked it to stop
        proc.send_group(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 143, proc.output
    _closed_all(proc)


@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
def test_faulthandler_registered_for_sigterm_dumps_the_stacks_and_sigterm_still_means_143(
    tmp_path: Path, job: str
) -> None:
    # faulthandler.register(SIGTERM) puts a C handler in Python's place: without chaining, it
    # dumps the stacks and nothing else hears the signal (the job ran on until the SIGKILL)
    with _hostile(job, "fault_handler", record=tmp_path / "r") as proc:
        proc.wait_for("signal.handler_replaced")
        proc.send_group(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 143, proc.output
    replaced = proc.one("signal.handler_replaced")
    assert replaced["signal"] == "SIGTERM" and replaced["handler"] == "faulthandler.register"
    assert proc.one("job.finished")["status"] == "terminated"
    assert "most recent call first" in proc.stderr  # the job's wish: its stacks, dumped
    _closed_all(proc)


@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
def test_a_sigterm_taken_by_a_handler_raising_system_exit_is_never_success(tmp_path: Path, job: str) -> None:
    # the handler really replaced jobframe's and the signal lands before jobframe notices
    with _hostile(job, "raw_handler", record=tmp_path / "r") as proc:
        proc.wait_for("app.working")
        proc.send_group(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 143, proc.output
    assert proc.one("job.finished")["status"] == "terminated"
    _closed_all(proc)


# -- row 9: a signal while jobframe starts ----------------------------------------------------------


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_startup_gives_the_code_and_one_json_line(sig: int, code: int) -> None:
    cmd = [sys.executable, "-m", "jobframe", "--app", APP, "--job-name", "SyncShape"]
    proc = subprocess.Popen(cmd, cwd=APPS, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until_handling(proc)  # jobframe's first line has run: from here the promise holds
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == code, (out, err)
    lines = out.decode().splitlines()
    assert len(lines) <= 1 or '"process.exit"' in lines[-1], out
    if lines:
        last = json.loads(lines[-1])
        assert last["event"] == "process.exit" and last["exit_code"] == code
    assert err == b"", err


# -- row 10: a signal while the exit guard waits ----------------------------------------------------


@pytest.mark.parametrize("shape", ["thread", "grandchild"])
def test_a_signal_during_the_exit_guard_keeps_process_exit_last(shape: str) -> None:
    with _hostile("SyncShape", shape, "--exit-grace", "30") as proc:
        proc.wait_for("process.lingering")
        sent = proc.send_group(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 0, proc.output  # the job itself had succeeded
    assert proc.exited_at is not None and proc.exited_at - sent < 1.0
    assert proc.order()[-1] == "process.exit"
    assert proc.one("process.exit")["signal"] == "SIGTERM"


@pytest.mark.parametrize("shape", ["sleep", "swallow"])
@pytest.mark.parametrize("job", ["SyncShape", "AsyncShape"])
def test_a_close_stuck_where_no_signal_reaches_never_overruns_the_deadline(
    tmp_path: Path, job: str, shape: str
) -> None:
    """docs/lifecycle.md: a process with a deadline exits before it, even when the deadline cuts
    teardown short and a close is stuck where no signal reaches (R3's close blocks every signal and
    sleeps). The margin (1 s) is far below --shutdown-timeout (5 s), so the deadline limits teardown
    however slowly the interpreter started; ``swallow`` also ignores its cancellation, so teardown is
    taken over from a job abandoned after its cancel grace."""
    env = {"HOSTILE_CLOSE": "stuck", "HOSTILE_CLOSE_WHICH": "3"}
    args = ("--timeout", "8", "--deadline-margin", "1", "--shutdown-timeout", "5")
    with _hostile(job, shape, *args, env=env, record=tmp_path / "r") as proc:
        code = proc.wait(20)
    assert code == 124, proc.output
    started = proc.one("job.started")
    assert started["seconds_left"] - started["cancel_in_s"] == pytest.approx(1.0, abs=0.002)
    deadline = datetime.fromisoformat(started["deadline"].replace("Z", "+00:00")).timestamp()
    assert proc.exited_wall is not None
    overrun = proc.exited_wall - deadline
    assert overrun < 0, f"exited {overrun:.3f}s after the deadline:\n{proc.output}"
    assert [e["resource"] for e in proc.named("teardown.timeout")] == ["r3"], proc.output
    assert "R3" in proc.record().still_open()
    assert proc.order()[-1] == "process.exit"
