"""joblib's ``Parallel`` under jobframe, as a real process: loky's helpers end with the run.

``Parallel`` (loky, joblib's default backend) leaves two things running after it returns, for the
next call: its workers, which loky's own ``threading`` exit hook shuts down, and its resource
tracker, a helper process that ignores SIGTERM and SIGINT and ends once the pipe this process holds
to it is closed — at exit, in plain Python, at no cost. jobframe took the tracker for a lingering
child: ``process.lingering`` on every run, the whole ``--exit-grace`` waited, then SIGTERM (ignored)
and SIGKILL 0.5 s later — 2.5 s with the defaults, and the tracker killed before it could clean up.
It is told to stop the way it expects, as multiprocessing's own tracker is (docs/lifecycle.md,
exit guard).

Run: ``python -m pytest --process -m zoo tests/zoo/test_parallel.py`` (joblib: the zoo extra).
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.lifecycle.jobproc import JobProcess, session_alive
from tests.zoo.conftest import missing
from tests.zoo.runner import APPS

pytestmark = [
    pytest.mark.process,
    pytest.mark.zoo,
    pytest.mark.skipif(missing("joblib") is not None, reason=str(missing("joblib"))),
]

EXIT_GRACE = 3.0  # longer than any bound below: a run that waits for it is told apart
SLACK_S = 1.0  # a loaded CI machine's margin on every bound
CLEAN_EXIT_S = 0.5  # docs/lifecycle.md: a clean job exits within 0.5 s of job.finished
SIGTERM_EXIT_S = 1.0  # docs/lifecycle.md: within 1 s of SIGTERM when the job stops when told


def _run(hold: bool) -> JobProcess:
    return JobProcess(
        "Squares",
        "--exit-grace",
        str(EXIT_GRACE),
        params={"hold": hold},
        cwd=APPS,
        app="parallelapp:Container",
    )


def _named(proc: JobProcess, event: str) -> list[dict[str, Any]]:
    return [e for e in proc.events if e.get("event") == event]


def test_a_job_that_ran_parallel_ends_at_once_with_nothing_named_lingering() -> None:
    proc = _run(hold=False)
    try:
        finished = proc.wait_for("job.finished", timeout=60)
        code = proc.wait(EXIT_GRACE + 10)
        alive = session_alive(proc.pid)
    finally:
        proc.kill()
    assert code == 0, proc.output
    assert proc.exited_at is not None
    assert proc.exited_at - finished.at < CLEAN_EXIT_S + SLACK_S, proc.output
    assert _named(proc, "process.lingering") == [], proc.output
    assert not [e for e in proc.events if str(e.get("event", "")).startswith("exit.hook")], proc.output
    assert alive == [], f"left running: {alive}\n{proc.output}"


def test_sigterm_inside_parallel_ends_within_the_bound_with_143() -> None:
    proc = _run(hold=True)
    try:
        proc.wait_for("parallel.ready", timeout=60)
        sent = proc.send_group(signal.SIGTERM)
        code = proc.wait(EXIT_GRACE + 10)
        alive = session_alive(proc.pid)
    finally:
        proc.kill()
    assert code == 143, proc.output
    assert [e.get("status") for e in _named(proc, "job.finished")] == ["terminated"], proc.output
    assert proc.exited_at is not None
    assert proc.exited_at - sent < SIGTERM_EXIT_S + SLACK_S, proc.output
    assert alive == [], f"left running: {alive}\n{proc.output}"
