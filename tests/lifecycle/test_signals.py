"""Signals: SIGTERM/SIGINT at any point end the job with its code and close what it opened."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .jobproc import APPS, Trial, child_env, jobframe_cmd, pid_alive, running, signal_trial

pytestmark = pytest.mark.process

TRIALS = 24
WORKERS = 3


def _trials(tmp_path: Path, job: str, seed: int, upper: float, **kwargs: Any) -> list[Trial]:
    rng = random.Random(seed)
    delays = [rng.uniform(0.0, upper) for _ in range(TRIALS)]
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(signal_trial, tmp_path, i, d, job=job, **kwargs) for i, d in enumerate(delays)]
        return [f.result() for f in futures]


@pytest.mark.slow
@pytest.mark.parametrize("job", ["Holder", "AsyncHolder"])
def test_sigterm_at_random_points_exits_143_with_everything_closed(tmp_path: Path, job: str) -> None:
    # init takes ~5 x 0.03 s, so delays in [0, 0.4] s land before, during and after resource init
    trials = _trials(tmp_path, job, seed=1443 + len(job), upper=0.4)
    for t in trials:
        assert t.code == 143, f"delay {t.delay:.3f}: exit {t.code}\n{t.output}"
        assert t.still_open == [], f"delay {t.delay:.3f}: left open {t.still_open}\n{t.output}"
        assert t.latency < 1.0, f"delay {t.delay:.3f}: {t.latency:.3f}s from SIGTERM to exit\n{t.output}"
    # the random points really covered init: some trials had opened nothing or only part
    full = max(len(t.opened) for t in trials)
    assert any(len(t.opened) < full for t in trials), "no trial landed during resource init"
    assert any(len(t.opened) == full for t in trials)


@pytest.mark.slow
def test_sigterm_around_teardown_keeps_the_jobs_code(tmp_path: Path) -> None:
    # The job ends by itself after 0.1 s and its closes take 0.08 s each: a signal lands while it
    # runs (cancels it: 143) or during teardown / the exit (the job's own code 0 stands).
    trials = _trials(tmp_path, "Holder", seed=77, upper=0.6, seconds=0.1, init_delay=0.02, close_delay=0.08)
    for t in trials:
        assert t.still_open == [], f"delay {t.delay:.3f}: left open {t.still_open}\n{t.output}"
        assert t.latency < 1.5, f"delay {t.delay:.3f}: {t.latency:.3f}s to exit\n{t.output}"
        if t.finished_status == "terminated":
            assert t.code == 143, t.output
        else:
            assert t.finished_status == "succeeded", t.output
            assert t.code == 0, f"delay {t.delay:.3f}: signal in phase {t.phase} changed the code\n{t.output}"
    assert {t.code for t in trials} == {0, 143}, "the random points missed either the run or the teardown"
    assert any(t.phase == "teardown" for t in trials), "no signal landed during teardown"


@pytest.mark.parametrize("job", ["Holder", "AsyncHolder"])
@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_a_repeated_or_other_signal_never_cuts_teardown_short(tmp_path: Path, job: str, second: int) -> None:
    # Kubernetes, Argo's emissary and runtimes may signal more than once; teardown is already
    # bounded, so every resource is still closed and the first signal's code stands.
    record = tmp_path / "record.txt"
    env = {"LIFECYCLE_CLOSE_DELAY": "0.3"}  # teardown takes a while
    with running(job, params={"seconds": 30}, env=env, record=record) as proc:
        proc.wait_for("app.working")
        proc.send(signal.SIGTERM)
        proc.wait_for("job.finished")
        proc.send(second)
        proc.send(signal.SIGTERM)
        code = proc.wait(15)
    assert code == 143, proc.output
    assert proc.record().opened and proc.record().still_open() == [], proc.output
    assert proc.order()[-1] == "process.exit" and "forced" not in proc.named("process.exit")[0]
    notes = [e for e in proc.named("signal.received") if e["phase"] == "teardown"]
    assert notes and {e["action"] for e in notes} == {"note"}


@pytest.mark.parametrize("job", ["Holder", "AsyncHolder"])
def test_a_second_sigint_exits_at_once(tmp_path: Path, job: str) -> None:
    # A person at a terminal pressing Ctrl-C twice: the only signal that skips the rest of teardown.
    record = tmp_path / "record.txt"
    env = {"LIFECYCLE_CLOSE_DELAY": "5"}  # each close would take 5 s
    with running(job, params={"seconds": 30}, env=env, record=record) as proc:
        proc.wait_for("app.working")
        proc.send(signal.SIGINT)
        proc.wait_for("job.finished")
        sent = proc.send(signal.SIGINT)
        code = proc.wait(10)
    assert code == 130
    assert proc.exited_at is not None and proc.exited_at - sent < 1.0
    exits = proc.named("process.exit")
    assert len(exits) == 1 and exits[0]["forced"] is True and exits[0]["exit_code"] == 130
    assert proc.order()[-1] == "process.exit"
    assert proc.one("job.finished")["status"] == "interrupted"


@pytest.mark.parametrize("job", ["Holder", "AsyncHolder"])
def test_sigint_exits_130_with_everything_closed(tmp_path: Path, job: str) -> None:
    record = tmp_path / "record.txt"
    with running(job, params={"seconds": 30}, record=record) as proc:
        proc.wait_for("app.working")
        proc.send(signal.SIGINT)
        code = proc.wait(10)
    assert code == 130
    assert proc.one("job.finished")["status"] == "interrupted"
    rec = proc.record()
    assert rec.opened and rec.still_open() == []
    assert proc.order()[-1] == "process.exit"


def test_signal_to_the_process_group_exits_143_and_orphans_no_child(tmp_path: Path) -> None:
    # Argo forwards signals to the whole process group: the job's child gets SIGTERM too, and
    # jobframe must still exit 143 with nothing left running.
    with running("LeakChild") as proc:
        child = proc.wait_for("app.child").event["child_pid"]  # type: ignore[index]
        # LeakChild returns at once; signal the group while it is in the exit guard or after
        proc.send_group(signal.SIGTERM)
        code = proc.wait(10)
    assert code in (0, 143)  # the job itself had already succeeded when the signal came
    assert not pid_alive(child)


def test_signal_to_the_process_group_during_the_run(tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    script = "import subprocess,time; subprocess.Popen(['sleep','60']); time.sleep(60)"
    with running("Holder", params={"seconds": 30}, record=record) as proc:
        proc.wait_for("app.working")
        helper = subprocess.Popen([sys.executable, "-c", script], start_new_session=False)
        try:
            sent = proc.send_group(signal.SIGTERM)
            code = proc.wait(10)
        finally:
            helper.kill()
            helper.wait()
    assert code == 143
    assert proc.exited_at is not None and proc.exited_at - sent < 1.0
    assert proc.record().still_open() == []
    # no process of the job's group survives
    survivors = _group_members(proc.pid)
    assert survivors == [], survivors


def _group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _unshare_works() -> str | None:
    try:
        cmd = ["unshare", "--pid", "--fork", "--mount-proc", "true"]
        done = subprocess.run(cmd, check=False, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare not runnable: {exc}"
    if done.returncode != 0:
        return f"unshare --pid --fork --mount-proc not permitted here: {done.stderr.decode().strip()}"
    return None


def _pid1_of(unshare_pid: int, timeout: float = 10.0) -> int:
    """The host pid of the namespace's PID 1: the child unshare forked."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for children in Path(f"/proc/{unshare_pid}/task").glob("*/children"):
            pids = children.read_text().split()
            if pids:
                return int(pids[0])
        time.sleep(0.01)
    raise AssertionError("unshare forked no child")


@pytest.mark.parametrize("job", ["Holder", "AsyncHolder"])
def test_sigterm_to_pid_1_exits_143(tmp_path: Path, job: str) -> None:
    reason = _unshare_works()
    if reason:
        pytest.skip(reason)
    record = tmp_path / "record.txt"
    cmd = ["unshare", "--pid", "--fork", "--mount-proc", *jobframe_cmd(job, params={"seconds": 30})]
    with running(job, cmd=cmd, record=record) as proc:
        working = proc.wait_for("app.working").event
        assert working is not None and working["pid"] == 1  # it really is PID 1 in its namespace
        pid1 = _pid1_of(proc.pid)
        sent = time.monotonic()
        os.kill(pid1, signal.SIGTERM)
        code = proc.wait(10)  # unshare exits with its child's status
    assert code == 143, proc.output
    assert proc.exited_at is not None and proc.exited_at - sent < 1.0
    assert proc.one("job.finished")["status"] == "terminated"
    assert proc.record().opened and proc.record().still_open() == []


def test_unshare_helpers_find_pid1() -> None:
    """The PID-1 test's own plumbing: the job process is unshare's child and sees itself as pid 1."""
    reason = _unshare_works()
    if reason:
        pytest.skip(reason)
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    proc = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", *sleeper],
        cwd=APPS,
        env=child_env(),
    )
    try:
        pid1 = _pid1_of(proc.pid)
        assert Path(f"/proc/{pid1}/status").read_text().count("NSpid") == 1
        nspid = next(
            line for line in Path(f"/proc/{pid1}/status").read_text().splitlines() if line.startswith("NSpid")
        )
        assert nspid.split()[-1] == "1"
    finally:
        proc.kill()
        proc.wait()
