"""A forked child is not the run: multiprocessing (fork, forkserver, spawn) and bare ``os.fork()``.

Each test runs the ``StdlibJob`` of ``apps/hostile.py`` as a real process. A pool's end SIGTERMs
its workers and ``Process.terminate()`` SIGTERMs its child: under jobframe a successful job still
exits 0, the children die of their SIGTERM as they would in plain Python (exit code -15, no
``JobInterrupted`` traceback), and a child that comes back into jobframe runs none of the run.
The rounds repeat inside one run, and the runs repeat, because the bug they guard against was a
race (11 of 25 pools).
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from .jobproc import JobProcess, end_session, running

pytestmark = pytest.mark.process

APP = "hostile:Container"
ROUNDS = {"fork": 25, "forkserver": 10, "spawn": 4}


def _run(tmp_path: Path, shape: str, method: str = "fork", *args: str, **params: Any) -> JobProcess:
    record = tmp_path / f"record-{shape}-{method}-{random.random()}.txt"
    env = {"HOSTILE_START": method}
    with running(
        "StdlibJob", *args, params={"shape": shape, **params}, env=env, record=record, app=APP
    ) as proc:
        proc.wait(60)
    return proc


def _assert_clean_success(proc: JobProcess) -> dict[str, Any]:
    assert proc.proc.returncode == 0, proc.output
    finished = proc.one("job.finished")
    assert finished["status"] == "succeeded", proc.output
    assert proc.named("signal.received") == [], f"a child's signal reached the run:\n{proc.output}"
    assert "JobInterrupted" not in proc.stderr, f"a child ran jobframe's handler:\n{proc.output}"
    assert proc.order()[-1] == "process.exit" and len(proc.named("process.exit")) == 1, proc.output
    assert proc.record().still_open() == [] and proc.record().closed.count("R1") == 1, proc.output
    return finished["result"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
@pytest.mark.parametrize("shape", ["pool", "terminate"])
def test_a_job_whose_children_are_sigtermed_by_multiprocessing_succeeds(
    tmp_path: Path, shape: str, method: str
) -> None:
    for _ in range(3 if method == "fork" else 1):
        proc = _run(tmp_path, shape, method, rounds=ROUNDS[method])
        result = _assert_clean_success(proc)
        if shape == "terminate":
            assert result["results"] == [-signal.SIGTERM], (
                "each child died of its SIGTERM, as in plain Python"
            )
        else:
            assert result["results"] == [sum(n * n for n in range(20))]


def test_a_bare_fork_child_sigtermed_by_the_job_never_reaches_the_run(tmp_path: Path) -> None:
    for _ in range(3):
        result = _assert_clean_success(_run(tmp_path, "fork", rounds=25))
        assert result["results"] == [-signal.SIGTERM]


def test_a_forked_child_returning_into_jobframe_runs_nothing_of_the_run(tmp_path: Path) -> None:
    proc = _run(tmp_path, "fork_return")
    result = _assert_clean_success(proc)  # one job.finished, one process.exit, R1 closed once
    assert result["child"] is False, "job.finished is the parent's"
    assert proc.one("process.exit")["exit_code"] == 0


def test_a_forked_child_gets_what_plain_python_would_have_had(tmp_path: Path) -> None:
    child = _assert_clean_success(_run(tmp_path, "fork_probe"))["child"]
    assert child == {
        "sigterm": "SIG_DFL",
        "sigint": "default_int_handler",
        "wakeup_fd": -1,  # not the parent's pipe
        "real_signal": True,  # not jobframe's guard
        "blocked": [],  # what was blocked around the fork is unblocked again
    }


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_sigterm_while_pools_come_and_go_means_143_and_nothing_left(tmp_path: Path, method: str) -> None:
    rng = random.Random(method)
    for _ in range(2):
        record = tmp_path / f"record-{method}-{rng.random()}.txt"
        env = {"HOSTILE_START": method}
        params = {"shape": "pool", "seconds": 600}
        args = ("--cancel-grace", "1", "--exit-grace", "1")
        with running("StdlibJob", *args, params=params, env=env, record=record, app=APP) as proc:
            proc.wait_for("app.working", timeout=30)
            time.sleep(rng.uniform(0.0, 0.5))  # not synchronisation: the random point the signal lands on
            sent = proc.send_group(signal.SIGTERM)
            code = proc.wait(30)
        assert code == 143, proc.output
        assert proc.one("job.finished")["status"] == "terminated"
        # a worker the group's SIGTERM killed holding the pool's queue lock deadlocks the pool's own
        # cleanup (as it would in plain Python): bounded by the cancel grace; a worker the pool
        # started after the group's SIGTERM (it replaces the killed ones) never got it: a leftover
        # descendant, given the exit grace, then SIGTERM and SIGKILL 0.5 s apart after the exit
        # hooks' 0.5 s (README, --exit-grace): cancel grace + exit grace + 1 s at most
        assert proc.exited_at is not None and proc.exited_at - sent < 1.0 + 1.0 + 1.0, proc.output
        assert "JobInterrupted" not in proc.stderr, proc.output
        assert proc.order()[-1] == "process.exit", proc.output
        assert proc.record().still_open() == [], proc.output
        assert end_session(proc.pid) == [], f"the job's session outlived it:\n{proc.output}"


def test_the_deadline_while_pools_come_and_go_means_124_before_it(tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    params = {"shape": "pool", "seconds": 600}
    started = time.time()
    with running("StdlibJob", "--timeout", "4", params=params, record=record, app=APP) as proc:
        code = proc.wait(30)
    assert code == 124, proc.output
    assert proc.one("job.finished")["status"] == "deadline_exceeded"
    assert proc.exited_wall is not None and proc.exited_wall < started + 4.0, proc.output
    assert "JobInterrupted" not in proc.stderr, proc.output
    assert proc.record().still_open() == [], proc.output
    assert end_session(proc.pid) == [], f"the job's session outlived it:\n{proc.output}"
