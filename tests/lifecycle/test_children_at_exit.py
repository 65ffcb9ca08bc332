"""Nothing of the job's session is alive once the process is gone — even a thread that keeps
starting children while the process ends them.

A ``multiprocessing`` pool's worker handler replaces every worker that dies; so does a job's own
thread that keeps a child running. jobframe's exit ends every descendant it finds — and such a
thread started new ones behind it, which outlived the process (the stress matrix's
``fork-pool x timeout``: a cancellation inside ``Pool()`` left a pool with no finalizer and its
handler running). Each test runs ``StdlibJob`` as a real process in a session of its own, waits for
what the job says (the pool's window held open, its children running), delivers the event and,
after the exit, reads the kernel's process table for anything of the session still alive.

Shapes x start methods x events: ``pool_held`` (fork, forkserver, spawn) and ``respawn`` (those
and a bare ``os.fork()``) under SIGTERM to the group, a second SIGINT (the forced exit), ``--timeout``
and ``ARGO_DEADLINE``; ``respawn`` also when the job simply succeeds.
"""

from __future__ import annotations

import contextlib
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .jobproc import JobProcess, end_session, running

pytestmark = pytest.mark.process

APP = "hostile:Container"
GRACES = ("--cancel-grace", "1", "--exit-grace", "1")
DEADLINE_S = 5.0
"""From the start to the deadline: startup on a loaded machine, then the held job."""
SIGNAL_BOUND_S = 1.0 + 1.0 + 1.0 + 0.5 + 0.5
"""Signal → exit (docs/lifecycle.md): 1 s, plus the cancel grace (a worker killed holding its pool's
lock), the exit grace (lingering children), the ``atexit`` hooks' least and the descendants' grace."""
CODES = {"none": 0, "sigterm": 143, "sigint-twice": 130, "timeout": 124, "argo-deadline": 124}
READY = {"pool_held": "app.pool_window", "respawn": "app.children"}


def _rfc3339(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _run(tmp_path: Path, shape: str, method: str, event: str) -> JobProcess:
    args: list[str] = list(GRACES)
    env = {"HOSTILE_START": method}
    deadline = datetime.now(UTC) + timedelta(seconds=DEADLINE_S)
    if event == "timeout":
        args += ["--timeout", str(DEADLINE_S)]
    elif event == "argo-deadline":
        env["ARGO_DEADLINE"] = _rfc3339(deadline)
    params = {"shape": shape, "seconds": 0 if event == "none" else 600}
    record = tmp_path / f"record-{shape}-{method}-{event}.txt"
    with running("StdlibJob", *args, params=params, env=env, record=record, app=APP) as proc:
        proc.wait_for(READY[shape], timeout=60)  # the pool's window is open / the children run
        sent = time.monotonic()
        if event == "sigterm":
            proc.send_group(signal.SIGTERM)
        elif event == "sigint-twice":
            proc.send_group(signal.SIGINT)
            proc.wait_for("signal.received", timeout=30)
            with contextlib.suppress(ProcessLookupError):
                proc.send_group(signal.SIGINT)  # the second: the process ends at once
        code = proc.wait(60)
    left = end_session(proc.pid)
    assert left == [], f"processes of the job's session alive after its exit: {left}\n{proc.output}"
    assert code == CODES[event], proc.output
    assert proc.order()[-1] == "process.exit", proc.output
    assert proc.exited_at is not None
    if event in ("timeout", "argo-deadline"):
        assert proc.exited_wall is not None and proc.exited_wall < deadline.timestamp(), proc.output
    elif event != "none":
        assert proc.exited_at - sent < SIGNAL_BOUND_S, proc.output
    return proc


@pytest.mark.parametrize("event", ["sigterm", "sigint-twice", "timeout", "argo-deadline"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_a_pool_cancelled_inside_its_constructor_leaves_no_worker(
    tmp_path: Path, method: str, event: str
) -> None:
    _run(tmp_path, "pool_held", method, event)


@pytest.mark.parametrize("event", ["none", "sigterm", "sigint-twice", "timeout"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn", "bare"])
def test_a_thread_that_keeps_starting_children_leaves_none(tmp_path: Path, method: str, event: str) -> None:
    proc = _run(tmp_path, "respawn", method, event)
    if event == "none":
        assert proc.one("job.finished")["status"] == "succeeded", "a successful job is never reported killed"
