"""The exit code, ``job.finished`` and ``process.exit`` agree, whatever the job's code makes hard
to report — checked on real processes of ``apps/outcomes.py``:

- a close that raises a ``BaseException`` (``KeyboardInterrupt``, ``SystemExit(0)``/``(3)``, one of
  a library's own), sync and async: a close that fails does not change the job's code
  (docs/lifecycle.md), so the exit is the job's 0, the close is named ``resource.close_failed`` and
  the resources opened before it still close. (An async resource's escaped the event loop: exit 1
  after ``job.finished`` said 0, a traceback, and the first resource never closed; a sync one's
  closed nothing less but was never named.)
- ``sys.exit(n)`` or ``KeyboardInterrupt`` from a resource's init: the job ending itself, 0 / 1 /
  130 as from ``execute`` — sync or async (an async resource's was a configuration error, 78);
- a ``BaseException`` of a library's own from a resource's init: a failure building the job, 78,
  sync or async (a sync resource's was 1);
- ``sys.exit(n)`` or ``KeyboardInterrupt`` from a task an async job started (not awaited): it ends
  ``asyncio.run``'s program, and it ends the job — cancelled, torn down, 0 / 1 / 130 — at once (it
  was logged as an unretrieved task exception, and the job ran on to succeed, 0);
- a result with a value whose ``repr`` raises: ``job.finished`` is still written, with the job's
  0 (it was lost, and the run ended with ``process.exit`` alone), and only that value is replaced
  (the whole result was blanked).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .jobproc import JobProcess, running

pytestmark = pytest.mark.process

APP = "outcomes:Container"
EXIT_S = 0.5
"""job.finished → exit for a job that leaves nothing running (docs/lifecycle.md: within 0.5 s)."""
ENDS_ITSELF = [("SystemExit:0", 0), ("SystemExit:3", 1), ("SystemExit:0.0", 1), ("KeyboardInterrupt", 130)]
"""What the job raises to end itself, and its code (README: a job that ends itself; ``sys.exit(0.0)``
is not an int 0, so 1, as Python exits)."""


def _run(tmp_path: Path, job: str, env: dict[str, str] | None = None) -> JobProcess:
    with running(job, env=env, record=tmp_path / "record.txt", app=APP) as proc:
        proc.wait(30)
    return proc


def _agrees(proc: JobProcess, code: int) -> None:
    assert proc.proc.returncode == code, proc.output
    assert [e["exit_code"] for e in proc.named("job.finished")] == [code], proc.output
    assert proc.order()[-1] == "process.exit" and proc.one("process.exit")["exit_code"] == code
    assert "phase" not in proc.one("process.exit"), proc.output  # not an escaped exit
    assert "Traceback" not in proc.stderr, proc.output
    assert proc.exited_at is not None
    assert proc.exited_at - proc.wait_for("job.finished").at < EXIT_S, proc.output


@pytest.mark.parametrize("job", ["CloseRaises", "AsyncCloseRaises"])
@pytest.mark.parametrize("raises", ["KeyboardInterrupt", "SystemExit:0", "SystemExit:3", "base"])
def test_a_close_raising_a_base_exception_keeps_the_jobs_code_and_is_named(
    tmp_path: Path, job: str, raises: str
) -> None:
    proc = _run(tmp_path, job, env={"CLOSE_RAISES": raises})
    _agrees(proc, 0)
    failed = proc.one("resource.close_failed")
    assert failed["resource"].endswith(".raising"), failed
    assert failed["error_type"] == {"base": "OwnBase"}.get(raises, raises.split(":", maxsplit=1)[0]), failed
    assert proc.record().closed == ["raising", "first"], "the resource opened before it still closed"


def test_a_result_that_cannot_be_shown_still_gets_its_job_finished(tmp_path: Path) -> None:
    proc = _run(tmp_path, "UnprintableResult")
    _agrees(proc, 0)
    finished = proc.one("job.finished")
    assert finished["status"] == "succeeded", finished
    shown = "<unprintable _Unprintable: RuntimeError>"
    assert finished["result"] == {"count": 3, "value": shown, "items": ["a", shown], "kept": "yes"}, finished
    assert proc.record().closed == ["first"]


@pytest.mark.parametrize("job", ["CloseRaises", "AsyncCloseRaises"])
@pytest.mark.parametrize(("raises", "code"), ENDS_ITSELF)
def test_an_init_ending_the_job_gets_the_code_of_a_job_ending_itself(
    tmp_path: Path, job: str, raises: str, code: int
) -> None:
    proc = _run(tmp_path, job, env={"INIT_RAISES": raises})
    _agrees(proc, code)
    assert proc.record().closed == ["first"], "the resource opened before it closed"


@pytest.mark.parametrize(("raises", "code"), ENDS_ITSELF)
def test_an_exit_in_a_task_of_the_job_ends_the_job(tmp_path: Path, raises: str, code: int) -> None:
    proc = _run(tmp_path, "TaskEndsTheJob", env={"TASK_RAISES": raises})
    _agrees(proc, code)
    assert "reason" not in proc.one("job.finished"), "no signal came: the job ended itself"
    assert proc.record().closed == ["first"]


@pytest.mark.parametrize("job", ["CloseRaises", "AsyncCloseRaises"])
def test_an_init_raising_a_base_exception_of_its_own_is_a_build_failure(tmp_path: Path, job: str) -> None:
    """A library's own ``BaseException`` (not an exit, not a cancellation) from a resource's init is
    a failure building the job: 78 (README), sync or async alike."""
    proc = _run(tmp_path, job, env={"INIT_RAISES": "base"})
    _agrees(proc, 78)
    finished = proc.one("job.finished")
    assert finished["error_type"] == "jobframe.errors.ConfigurationError", finished
    assert finished["error_message"].startswith(f"cannot build job {job}: OwnBase: own ("), finished
    assert "outcomes.py:" in finished["error_message"], "names the app's line that raised"
    assert proc.record().closed == ["first"], "the resource opened before it closed"
