"""Teardown: every resource closed, newest first, with the job's error, whatever else fails."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .jobproc import JobProcess, running

pytestmark = pytest.mark.process


def _run(job: str, record: Path, *args: str, **params: object) -> tuple[int, JobProcess]:
    with running(job, *args, params=params or None, record=record) as proc:
        code = proc.wait(15)
    return code, proc


def _closed_order(proc: JobProcess) -> list[str]:
    return [e["resource"] for e in proc.events if e.get("event") == "resource.closed"]


def test_resource_reached_through_a_factory_is_closed_after_its_user(tmp_path: Path) -> None:
    # B gets A only through providers.Factory(Wrapper, a=A); dependency-injector's own shutdown
    # closes them in random order. jobframe closes in reverse of actual entry: B, then A.
    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda i: _run("Holder", tmp_path / f"r{i}.txt", seconds=0), range(10)))
    for code, proc in runs:
        assert code == 0, proc.output
        rec = proc.record()
        assert rec.opened.index("A") < rec.opened.index("B")
        assert rec.closed.index("B") < rec.closed.index("A"), rec.lines
        assert rec.closed == list(reversed(rec.opened))
        assert _closed_order(proc) == ["e", "d", "c", "b", "a"]


@pytest.mark.parametrize(
    ("job", "names"),
    [("Holder", ["A", "B", "C", "E"]), ("AsyncHolder", ["AA", "AB", "C"])],
)
def test_resources_see_the_jobs_exception(tmp_path: Path, job: str, names: list[str]) -> None:
    code, proc = _run(job, tmp_path / "r.txt", seconds=0, fail=True)
    assert code == 1, proc.output
    rec = proc.record()
    assert rec.still_open() == []
    for name in names:
        assert rec.exc_of(name) == "ValueError", rec.lines


@pytest.mark.parametrize(
    ("job", "opened"),
    [("ContextLocalHolder", ["A", "CL", "C"]), ("AsyncContextLocalHolder", ["ACL", "AA"])],
)
@pytest.mark.parametrize("fail", [False, True])
def test_a_context_local_resource_is_closed_like_any_other(
    tmp_path: Path, job: str, opened: list[str], fail: bool
) -> None:
    # providers.ContextLocalResource is a BaseResource, not a Resource: closed all the same
    code, proc = _run(job, tmp_path / "r.txt", seconds=0, fail=fail)
    assert code == (1 if fail else 0), proc.output
    rec = proc.record()
    assert rec.opened == opened, rec.lines
    assert rec.closed == list(reversed(opened)), rec.lines
    assert {rec.exc_of(name) for name in opened} == {"ValueError" if fail else "-"}, rec.lines


def test_resources_see_the_interruption(tmp_path: Path) -> None:
    with running("Holder", params={"seconds": 30}, record=tmp_path / "r.txt") as proc:
        proc.wait_for("app.working")
        proc.send(signal.SIGTERM)
        assert proc.wait(10) == 143
    rec = proc.record()
    assert {rec.exc_of(n) for n in ("A", "B", "C", "E")} == {"JobInterrupted"}


def test_success_closes_with_no_exception(tmp_path: Path) -> None:
    code, proc = _run("Holder", tmp_path / "r.txt", seconds=0)
    assert code == 0
    assert {exc for verb, _, exc in proc.record().lines if verb == "close"} == {"-"}


@pytest.mark.parametrize(("job", "bad"), [("FailingClose", "bad"), ("AsyncFailingClose", "abad")])
def test_failing_close_leaves_nothing_else_open(tmp_path: Path, job: str, bad: str) -> None:
    code, proc = _run(job, tmp_path / "r.txt", seconds=0)
    assert code == 0, proc.output  # a close failing after a successful job does not change its code
    failed = proc.one("resource.close_failed")
    assert failed["resource"] == bad and failed["error_type"] == "RuntimeError"
    rec = proc.record()
    assert len(rec.opened) == 3 and rec.still_open() == []
    # the resources opened before the failing one are closed after it
    assert len(_closed_order(proc)) == 2
    assert proc.order()[-1] == "process.exit"


def test_unmanaged_singleton_client_is_closed_and_reported(tmp_path: Path) -> None:
    code, proc = _run("UsesClient", tmp_path / "r.txt")
    assert code == 0, proc.output
    assert proc.one("app.working")["client_open"] is True
    unmanaged = proc.one("resource.unmanaged")
    assert unmanaged["provider"] == "client"
    assert unmanaged["type"].endswith("RecordingClient")
    rec = proc.record()
    assert "http" in rec.opened and rec.still_open() == []
    order = proc.order()
    assert order.index("resource.closed") < order.index("resource.unmanaged")  # after the managed ones


@pytest.mark.parametrize(("job", "hanging"), [("HangingClose", "hang"), ("AsyncHangingClose", "ahang")])
def test_shutdown_timeout_bounds_a_hanging_close(tmp_path: Path, job: str, hanging: str) -> None:
    with running(job, "--shutdown-timeout", "1", params={"seconds": 0}, record=tmp_path / "r.txt") as proc:
        finished = proc.wait_for("job.finished")
        code = proc.wait(15)
    assert code == 0, proc.output
    timeout = proc.one("teardown.timeout")
    # only the hanging close is abandoned, once the 1 s budget is spent; every other resource,
    # opened before or after it, is still closed (each later close gets at least MIN_CLOSE_S)
    assert timeout["resource"] == hanging
    assert timeout["action"] == "abandoned"
    rec = proc.record()
    assert rec.still_open() == [hanging.upper()]
    assert sorted(_closed_order(proc)) == sorted(n.lower() for n in rec.opened if n != hanging.upper())
    assert proc.exited_at is not None and proc.exited_at - finished.at < 1.0 + 0.5
