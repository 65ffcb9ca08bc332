"""A signal, and a second one, at every stage of a run — each stage held open by the test.

The app (``apps/holds.py``) stops at the stage the test names and waits for the test's go, so the
signals land exactly there, whatever the machine's speed: while jobframe installs its handlers,
inside a handler the job installed, while the cancelled job is still stopping, inside a close,
inside an ``atexit`` hook, and in the last log flush after ``process.exit``. Whatever the stage:
the documented code (130 for SIGINT, 143 for SIGTERM), ``job.finished`` once and agreeing with it,
``process.exit`` once and last, and the process gone within 1 s of the moment it was free to go
(docs/lifecycle.md): a second SIGINT at once, ``forced: true``; a second SIGTERM never cuts
teardown short.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .jobproc import JobProcess, Record, child_env, running

pytestmark = pytest.mark.process

CODES = {signal.SIGTERM: 143, signal.SIGINT: 130}
BOUND_S = 1.0
"""A job that stops when told, with quick closes, is gone within this of the signal (the docs)."""
OPTIONS = ("--cancel-grace", "5", "--exit-grace", "30", "--shutdown-timeout", "30")
"""Long bounds: a signal lost in a stage shows as a wait of seconds, never as a near miss; the
exit hook's stage stays open as long as the test holds it."""


def wait_for_hold(record: Path, stage: str, count: int = 1, timeout: float = 20.0) -> None:
    """Until the app says (in its record file) that it holds ``stage`` — ``count`` times."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = [n for verb, n, _ in Record.read(record).lines if verb == "hold" and n == stage]
        if len(held) >= count:
            return
        time.sleep(0.005)
    raise AssertionError(f"the app never held {stage!r} ({count}x)")


@contextlib.contextmanager
def start(
    tmp_path: Path, stage: str, shape: str = "sleep", **env: str
) -> Iterator[tuple[JobProcess, Path, Path]]:
    """The app, holding ``stage`` open; its record file and the go file the test creates."""
    record, go = tmp_path / "record.txt", tmp_path / "go"
    env = {"HOSTILE_HOLD": stage, "HOSTILE_GO": str(go), **env}
    with running(
        "SyncShape", *OPTIONS, params={"shape": shape}, env=env, record=record, app="hostile:Container"
    ) as proc:
        yield proc, record, go


def check_end(proc: JobProcess, sig: int, *, forced: bool = False) -> None:
    code = proc.proc.returncode
    assert code == CODES[sig], f"exit {code}, expected {CODES[sig]}\n{proc.output}"
    assert proc.order()[-1:] == ["process.exit"], proc.output
    exits = proc.named("process.exit")
    assert len(exits) == 1 and exits[0]["exit_code"] == code, proc.output
    assert bool(exits[0].get("forced")) is forced, proc.output
    finished = proc.one("job.finished")
    assert finished["exit_code"] == code, proc.output
    assert not proc.named("job.cancel_ignored"), proc.output


def gone_within(proc: JobProcess, since: float, bound: float = BOUND_S) -> None:
    assert proc.exited_at is not None and proc.exited_at - since < bound, (
        f"gone {proc.exited_at and proc.exited_at - since:.2f}s after it was free to go, bound {bound}s\n"
        + proc.output
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_while_the_handlers_are_being_installed(tmp_path: Path, sig: int) -> None:
    # The signal lands while jobframe's supervisor thread is starting: the run must still end with
    # the signal's code and process.exit last (it once died of a RuntimeError, exit 1, no line).
    with start(tmp_path, "install") as (proc, record, go):
        wait_for_hold(record, "install")
        proc.send_group(sig)
        go.touch()
        freed = time.monotonic()
        proc.wait(20)
    check_end(proc, sig)
    assert Record.read(record).still_open() == [], proc.output
    gone_within(proc, freed)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_second_signal_inside_the_jobs_own_handler(tmp_path: Path, sig: int) -> None:
    # The job's handler is called first and takes its time; the second signal arrives inside it.
    # Its cancellation must reach the job: never swallowed as if the job's handler had raised it
    # (the job would then run on until the cancel grace abandons it).
    with start(tmp_path, "handler", shape="holding_handler") as (proc, record, go):
        proc.wait_for("app.working")
        proc.send_group(sig)
        wait_for_hold(record, "handler")
        proc.send_group(sig)
        wait_for_hold(record, "handler", count=2)  # the second call, nested in the first
        go.touch()
        freed = time.monotonic()
        proc.wait(20)
    check_end(proc, sig, forced=sig == signal.SIGINT)
    gone_within(proc, freed)
    if sig == signal.SIGTERM:
        assert Record.read(record).still_open() == [], proc.output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
@pytest.mark.parametrize("stage", ["cancelling", "closing"])
def test_a_second_signal_while_the_run_ends(tmp_path: Path, sig: int, stage: str) -> None:
    # A second SIGINT ends the process at once (forced); a second SIGTERM is noted and the held
    # stage goes on, every resource closed, with the first signal's code.
    env = {"HOSTILE_CLOSE": "hold"} if stage == "closing" else {}
    with start(tmp_path, stage, **env) as (proc, record, go):
        proc.wait_for("app.ready" if stage == "cancelling" else "app.working")  # in its try
        proc.send_group(sig)
        wait_for_hold(record, stage)
        sent = proc.send_group(sig)
        if sig == signal.SIGTERM:
            proc.wait_for("signal.received", where=lambda e: e.get("action") == "note")
            go.touch()
            sent = time.monotonic()
        proc.wait(20)
    forced = sig == signal.SIGINT
    check_end(proc, sig, forced=forced)
    gone_within(proc, sent)
    if not forced:
        assert Record.read(record).still_open() == [], proc.output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
@pytest.mark.parametrize("stage", ["exit_hooks", "flush"])
def test_a_second_signal_after_teardown(tmp_path: Path, sig: int, stage: str) -> None:
    # After teardown the job's code is known: a signal keeps it, and process.exit stays the last
    # line — during the exit hooks (the process ends at once) and during the very last flush.
    with start(tmp_path, stage) as (proc, record, go):
        proc.wait_for("app.working")
        proc.send_group(sig)
        wait_for_hold(record, stage)
        sent = proc.send_group(sig)
        if stage == "flush":
            go.touch()  # process.exit is written; the flush goes on, then the exit
        proc.wait(20)
    check_end(proc, sig)
    assert Record.read(record).still_open() == [], proc.output
    gone_within(proc, sent)


TIMER_LOCK_SCRIPT = """
import signal
from jobframe._run.supervisor import Supervisor
from jobframe._run.timers import Timer

supervisor = Supervisor(lambda name: None, lambda signum: None)


class Timers(dict):
    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        signal.raise_signal(signal.SIGUSR1)  # its handler runs here, inside the timer lock


supervisor._timers = Timers()
signal.signal(signal.SIGUSR1, lambda signum, frame: supervisor.cancel(Timer.DEADLINE))
supervisor.after(Timer.CHECK_HANDLERS, 60)
print("returned")
"""


def test_a_signal_while_the_main_thread_sets_a_timer_cannot_deadlock(tmp_path: Path) -> None:
    # jobframe's handler cancels timers (the deadline, on a cancellation); the main thread sets
    # them too (installing, closing). A signal in between once deadlocked the main thread on the
    # timer lock for good: a SIGTERM there hung the process until the platform's SIGKILL.
    done = subprocess.run(
        [sys.executable, "-c", TIMER_LOCK_SCRIPT],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "returned", done.stderr
