"""The adversarial lifecycle matrix: job shapes x events, run the way Argo runs a step.

Each trial starts ``python -m jobframe`` on ``apps/hostile.py`` in a session of its own (the job
is its process group leader, as under Argo's emissary), delivers one event — signals go to the
whole group, deadlines come from ``ARGO_DEADLINE`` or ``--timeout`` with the platform's SIGTERM at
the deadline instant — and checks every invariant the lifecycle promises (docs/lifecycle.md):

1. never killed: the process ends by itself, never by a signal's default action or the
   platform's SIGKILL, and never through the interpreter's own shutdown (something escaped the
   CLI: ``process.exit`` says ``phase: escaped``);
2. the documented exit code for what happened, and ``job.finished`` agrees with it;
3. every resource opened is closed — except one whose close outlasts the teardown budget
   (``teardown.timeout`` names it) and after a forced exit (a second SIGINT);
4. stdout is JSON lines only, ``process.exit`` exactly once and last;
5. no process of the job's session is alive afterwards;
6. the process is gone within the shape's stated bound after the signal, or before the deadline;
7. the ``atexit`` hooks a library registered ran (unless the process had to end at once), and what
   the standard library ends itself (an idle executor) costs no exit grace.

Used by ``test_matrix.py`` (a sample that covers every shape and every event) and by
``benchmarks/stress_lifecycle.py`` (the whole matrix, many trials).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .jobproc import JobProcess, Record, end_session, pid_alive

CANCEL_GRACE = 1.0
SHUTDOWN_TIMEOUT = 2.0
EXIT_GRACE = 1.0
OPTIONS = (
    "--cancel-grace", str(CANCEL_GRACE),
    "--shutdown-timeout", str(SHUTDOWN_TIMEOUT),
    "--exit-grace", str(EXIT_GRACE),
)  # fmt: skip
DEADLINE_S = 5.0
"""Seconds from the trial's start to its deadline: startup (0.3 to 1.5 s on a loaded machine) plus room
for the job and a teardown budget that fits the slowest closes of the matrix (0.9 s)."""
PLATFORM_GRACE_S = 10.0
"""After its SIGTERM at the deadline the platform waits this long, then SIGKILLs (a violation)."""
BASE_BOUND_S = 1.0
"""A cooperative job whose closes are quick is gone this soon after a signal (docs/lifecycle.md)."""


@dataclass(frozen=True)
class Shape:
    name: str
    job: str
    shape: str
    env: dict[str, str] = field(default_factory=dict)
    endless: bool = True
    """Runs until cancelled; otherwise it returns at once (the events land in teardown or later)."""
    extra_bound: float = 0.0
    """Seconds this shape may add to the signal → exit bound (a slow close, an ignored cancel)."""
    hanging: str | None = None
    """The resource whose close hangs (it may stay open, with ``teardown.timeout`` naming it)."""
    overrun: float = 0.0
    """Seconds past a deadline this shape may end: a close stuck where no signal reaches is taken
    over by the supervisor 0.5 s after the teardown budget, which ends at the deadline."""
    flushes: bool = False
    """Registers an ``atexit`` hook that writes ``close atexit-write``: once registered (``registered
    atexit-write``; a signal may cancel the job before it gets there), it must have run, unless the
    process ended at once (a signal in the exit guard, a forced exit)."""
    finish_bound: float | None = None
    """Without a signal: ``job.finished`` → exit within this (an idle executor costs no exit grace)."""


_MP_BOUND = CANCEL_GRACE + EXIT_GRACE
"""A worker the group's SIGTERM killed holding its pool's lock deadlocks the pool's own cleanup (as in
plain Python): the cancel grace; a child forked a moment before the cancellation that nobody ends
lingers: the exit grace."""
_LINGER = EXIT_GRACE + 0.5 + 0.5
"""A thread or process still running after teardown: the exit grace, then the exit hooks' 0.5 s
floor, then 0.5 s between the descendants' SIGTERM and SIGKILL (a multiprocessing child, which its
exit hook would join, is ended before the hooks, which then end at once)."""
_LOAD_SLACK = 0.5
"""What a loaded machine may add to a bound made of several waits in a row."""


def _library(
    name: str, shape: str, start: str = "fork", *, job: str = "LibraryJob", lingers: bool = True
) -> Shape:
    """A shape of apps/library_shapes.py; ``lingers``: what it leaves is still running after
    teardown (else the standard library's own exit hooks end it at once)."""
    return Shape(
        name,
        job,
        shape,
        env={"HOSTILE_START": start},
        extra_bound=_LINGER if lingers else 0.0,
        finish_bound=_LINGER + _LOAD_SLACK if lingers else 0.5,
    )


_SLOW_CLOSE = {"LIFECYCLE_CLOSE_DELAY": "0.3"}
_SLOW_OPEN = {"LIFECYCLE_INIT_DELAY": "0.15"}
_HANG = {"HOSTILE_CLOSE": "hang"}

SHAPES: dict[str, Shape] = {
    s.name: s
    for s in [
        Shape("sync-sleep", "SyncShape", "sleep"),
        Shape("async-sleep", "AsyncShape", "sleep"),
        Shape("sync-block", "SyncShape", "block"),
        Shape("async-block", "AsyncShape", "block"),
        Shape("sync-cpu", "SyncShape", "cpu"),
        Shape("async-cpu", "AsyncShape", "cpu"),
        Shape("sync-swallow", "SyncShape", "swallow", extra_bound=CANCEL_GRACE),
        Shape("async-swallow", "AsyncShape", "swallow", extra_bound=CANCEL_GRACE),
        Shape("sync-slow-open", "SyncShape", "sleep", env=_SLOW_OPEN),
        Shape("async-slow-open", "AsyncShape", "sleep", env=_SLOW_OPEN),
        Shape("sync-slow-close", "SyncShape", "sleep", env=_SLOW_CLOSE, extra_bound=0.9),
        Shape("async-slow-close", "AsyncShape", "sleep", env=_SLOW_CLOSE, extra_bound=0.9),
        Shape(
            "sync-hanging-close",
            "SyncShape",
            "sleep",
            {"HOSTILE_CLOSE": "hang"},
            True,
            SHUTDOWN_TIMEOUT,
            "r1",
        ),
        Shape(
            "async-hanging-close",
            "AsyncShape",
            "sleep",
            {"HOSTILE_CLOSE": "hang"},
            True,
            SHUTDOWN_TIMEOUT,
            "a1",
        ),
        Shape(
            "sync-stuck-close",
            "SyncShape",
            "sleep",
            {"HOSTILE_CLOSE": "stuck", "HOSTILE_CLOSE_WHICH": "3"},
            extra_bound=SHUTDOWN_TIMEOUT + 0.5,
            hanging="r3",
            overrun=0.5 + 0.2 * 2,
        ),
        Shape("sync-raising-close", "SyncShape", "sleep", env={"HOSTILE_CLOSE": "raise"}),
        Shape("async-raising-close", "AsyncShape", "sleep", env={"HOSTILE_CLOSE": "raise"}),
        Shape("leaked-thread", "SyncShape", "thread", endless=False, extra_bound=EXIT_GRACE),
        Shape("leaked-child", "SyncShape", "child", endless=False, extra_bound=EXIT_GRACE),
        Shape("leaked-grandchild", "AsyncShape", "grandchild", endless=False, extra_bound=EXIT_GRACE),
        Shape("sync-own-handler", "SyncShape", "handler"),
        Shape("async-own-handler", "AsyncShape", "handler"),
        Shape("ignoring-handler", "SyncShape", "ignore_handler"),
        Shape("sync-raw-handler", "SyncShape", "raw_handler"),
        Shape("async-raw-handler", "AsyncShape", "raw_handler"),
        # the standard library's own shapes (apps/stdlib_shapes.py): multiprocessing children that
        # their parent SIGTERMs, exit hooks, a close blocking in C, an idle executor
        Shape("fork-pool", "StdlibJob", "pool", extra_bound=_MP_BOUND),
        Shape("spawn-pool", "StdlibJob", "pool", env={"HOSTILE_START": "spawn"}, extra_bound=_MP_BOUND),
        Shape("process-terminate", "StdlibJob", "terminate", extra_bound=_MP_BOUND),
        Shape("bare-fork", "StdlibJob", "fork", extra_bound=_MP_BOUND),
        Shape(
            "atexit-hooks",
            "StdlibJob",
            "atexit",
            env={"HOSTILE_ATEXIT": "write,raise"},
            endless=False,
            flushes=True,
            finish_bound=0.5,
        ),
        Shape(
            "c-blocking-close",
            "StdlibJob",
            "c_close",
            env={"HOSTILE_FLUSH_S": "30"},
            extra_bound=SHUTDOWN_TIMEOUT,
            hanging="flush_client",
        ),
        Shape("idle-executor", "StdlibJob", "executor", endless=False, finish_bound=0.5),
        # what jobs built on the standard library leave behind when their work ends
        # (apps/library_shapes.py): plain Python would wait for most of them for ever
        _library("process-pool-pending", "process_pool_pending", "spawn"),
        _library("child-ignoring-sigterm", "child_ignoring_sigterm", "fork"),
        _library("daemon-child", "daemon_child", "forkserver", lingers=False),
        _library("grandchild-ignoring-sigterm", "grandchild", "spawn"),
        _library("daemonized-grandchild", "daemonized", "fork"),
        _library("thread-pool-pending", "thread_pool_pending"),
        _library("thread-on-socket", "thread_on_socket", job="AsyncLibraryJob"),
        _library("executor-thread", "executor_thread", job="AsyncLibraryJob"),
        _library("async-subprocess", "subprocess", job="AsyncLibraryJob"),
        _library("pending-task", "pending_task", job="AsyncLibraryJob", lingers=False),
        _library("log-handlers", "log_handlers", lingers=False),
        _library("faulthandler-sigterm", "fault_handler", lingers=False),
        _library("atexit-sys-exit", "atexit_exit", lingers=False),
        _library("closes-stdout", "closes_stdout", job="AsyncLibraryJob", lingers=False),
    ]
}

EVENTS = (
    "none",
    "sigterm",
    "sigterm-running",
    "sigterm-twice",
    "sigterm-after-finish",
    "sigint",
    "sigint-twice",
    "argo-deadline",
    "timeout",
)

_CODES = {signal.SIGTERM: 143, signal.SIGINT: 130}


@dataclass
class Trial:
    shape: str
    event: str
    seed: int
    exit_code: int | None = None
    elapsed: float = 0.0
    """Seconds from the event (first signal, or the deadline's cancellation) to the exit."""
    violations: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def passed(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        return f"{self.shape} x {self.event} (seed {self.seed}): " + "; ".join(self.violations)


def _rfc3339(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_trial(shape: Shape, event: str, workdir: Path, seed: int) -> Trial:
    """Run one trial and check every invariant; the returned trial lists what was violated."""
    rng = random.Random(seed)
    trial = Trial(shape.name, event, seed)
    record = workdir / f"record-{shape.name}-{event}-{seed}.txt"
    env = dict(shape.env)
    args = list(OPTIONS)
    seconds = 600.0 if shape.endless else 0.0
    if event == "none" or event == "sigterm-after-finish":
        seconds = 0.6 if shape.endless else 0.0
    deadline: datetime | None = None
    if event == "argo-deadline":
        deadline = datetime.now(UTC) + timedelta(seconds=DEADLINE_S)
        env["ARGO_DEADLINE"] = _rfc3339(deadline)
    elif event == "timeout":
        deadline = datetime.now(UTC) + timedelta(seconds=DEADLINE_S)  # counted from the process start
        args += ["--timeout", str(DEADLINE_S)]
    params = {"shape": shape.shape, "seconds": seconds}
    proc = JobProcess(shape.job, *args, params=params, env=env, record=record, app="hostile:Container")
    first_signal: int | None = None
    sent_at: float | None = None
    sigkilled = False
    try:
        first_signal, sent_at = _deliver(proc, event, rng)
        if deadline is not None:
            sigkilled = _platform(proc, deadline)
        else:
            sigkilled = _await_exit(proc, (sent_at or time.monotonic()) + 30.0)
        proc.drain()
    finally:
        if proc.proc.poll() is None:
            proc.kill()
            sigkilled = True
    trial.exit_code = proc.proc.returncode
    trial.output = proc.output
    assert proc.exited_at is not None or sigkilled
    start = sent_at
    if deadline is not None:
        reached = [
            line.at for line in proc.lines if line.event and line.event.get("event") == "deadline.reached"
        ]
        start = reached[0] if reached else None
    trial.elapsed = max((proc.exited_at or time.monotonic()) - start, 0.0) if start is not None else 0.0
    _check(trial, shape, event, proc, first_signal, deadline, sigkilled, record)
    return trial


def _deliver(proc: JobProcess, event: str, rng: random.Random) -> tuple[int | None, float | None]:
    """Send the event's signals; returns the first signal and when it was sent."""
    if event in ("none", "argo-deadline", "timeout"):
        return None, None
    if event == "sigterm-after-finish":
        proc.wait_for("job.finished", timeout=30)
        return signal.SIGTERM, _send(proc, signal.SIGTERM)
    sig = signal.SIGINT if event.startswith("sigint") else signal.SIGTERM
    if event == "sigterm-running":
        proc.wait_for("app.working", timeout=30)  # the job's own code runs: what the shape does matters
        time.sleep(rng.uniform(0.0, 0.3))
        return sig, _send(proc, sig)
    proc.wait_until_handling()  # the promise starts with jobframe's first line, not the interpreter's
    time.sleep(rng.uniform(0.0, 1.2))  # not synchronisation: the random point the signal lands on
    sent = _send(proc, sig)
    if event.endswith("twice"):
        time.sleep(0.1)  # the platform's (or the person's) second signal, 100 ms later
        _send(proc, sig)
    return sig, sent


def _send(proc: JobProcess, sig: int) -> float:
    try:
        return proc.send_group(sig)
    except ProcessLookupError:
        return time.monotonic()


def _await_exit(proc: JobProcess, until: float) -> bool:
    """Wait for the exit; ``True`` if it had to be killed."""
    while proc.proc.poll() is None:
        if time.monotonic() > until:
            proc.kill()
            return True
        proc.wait_exit(min(until - time.monotonic(), 1.0))
    return False


def _platform(proc: JobProcess, deadline: datetime) -> bool:
    """What the platform does at the deadline: SIGTERM to the group, SIGKILL after its grace."""
    until_deadline = (deadline - datetime.now(UTC)).total_seconds()
    proc.wait_exit(max(until_deadline, 0.0))
    if proc.proc.poll() is not None:
        return False
    _send(proc, signal.SIGTERM)
    return _await_exit(proc, time.monotonic() + PLATFORM_GRACE_S)


def _check(
    trial: Trial,
    shape: Shape,
    event: str,
    proc: JobProcess,
    first_signal: int | None,
    deadline: datetime | None,
    sigkilled: bool,
    record: Path,
) -> None:
    bad = trial.violations.append
    code = trial.exit_code
    # 1. never killed
    if sigkilled or code is None or code < 0:
        bad(f"killed (returncode {code}, SIGKILL needed: {sigkilled}) {proc.death()}".rstrip())
        return
    # 4. JSON lines only, process.exit once and last
    raw = [line.raw for line in proc.lines if line.raw.strip()]
    not_json = [r for r in raw if not _is_json(r)]
    if not_json:
        bad(f"stdout has non-JSON lines: {not_json[:2]}")
    exits = proc.named("process.exit")
    if len(exits) != 1 or proc.order()[-1:] != ["process.exit"]:
        bad(f"process.exit not once and last: {proc.order()[-3:]}")
    if exits and exits[-1].get("exit_code") != code:
        bad(f"process.exit says {exits[-1].get('exit_code')}, the process ended with {code}")
    forced = any(e.get("forced") for e in exits)
    escaped = [e.get("error_type") for e in exits if e.get("phase") == "escaped"]
    if escaped:  # python -m jobframe caught what escaped its CLI: a bug of jobframe's, never a pass
        bad(f"{escaped[0]} escaped the CLI: {proc.stderr[-600:]!r}")
    # 2. the documented exit code
    started = proc.named("job.started")
    finished = proc.named("job.finished")
    expected = _expected_code(shape, event, first_signal, started, proc)
    if expected is not None and code != expected:
        bad(f"exit {code}, expected {expected}")
    if finished and finished[0].get("exit_code") != code:
        bad(f"job.finished says {finished[0].get('exit_code')}, the process ended with {code}")
    if started and not finished:
        bad("job.started without job.finished")
    # 3. every opened resource closed, but one named by teardown.timeout or after a forced exit
    still_open = Record.read(record).still_open()
    timed_out = {e.get("resource") for e in proc.named("teardown.timeout")}
    left = [n for n in still_open if n.lower() not in timed_out]
    if left and not forced:
        bad(f"left open: {left}")
    if shape.hanging and still_open and not forced and shape.hanging not in timed_out:
        bad(f"{shape.hanging} left open without teardown.timeout")
    if timed_out and not shape.hanging and deadline is None:
        bad(f"closes abandoned though only --shutdown-timeout bounded them: {sorted(map(str, timed_out))}")
    # 5. nothing of the job's session alive afterwards, nor a descendant that left it (``pid N``)
    survivors = end_session(proc.pid)
    if survivors:
        bad(f"processes of the job's session still alive: {survivors}")
    left_session = [int(pid) for verb, pid, _ in Record.read(record).lines if verb == "pid"]
    left_alive = [pid for pid in left_session if pid_alive(pid)]
    for pid in left_alive:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if left_alive:
        bad(f"descendants that left the job's session still alive: {left_alive}")
    # 7. the exit hooks ran, and ran before the exit grace was spent
    quick_exit = forced or any(e.get("signal") for e in exits)
    hooks = Record.read(record)
    registered = ("registered", "atexit-write", "-") in hooks.lines  # not if cancelled before that
    if shape.flushes and not quick_exit and registered and "atexit-write" not in hooks.closed:
        bad("an atexit hook was skipped")
    if shape.finish_bound is not None and first_signal is None and deadline is None and finished:
        at = next(line.at for line in proc.lines if line.event and line.event.get("event") == "job.finished")
        if proc.exited_at is not None and proc.exited_at - at > shape.finish_bound:
            bad(f"job.finished → exit {proc.exited_at - at:.2f}s > {shape.finish_bound}s")
    # 6. the stated bound
    if deadline is not None and started:
        gone = proc.exited_wall or time.time()
        # a close abandoned at the deadline leaves the later ones their minimum each (0.2 s)
        slack = shape.overrun or (0.2 * 3 if timed_out else 0.0)
        if gone > deadline.timestamp() + slack:
            bad(f"exited {gone - deadline.timestamp():.2f}s after the deadline")
    elif first_signal is not None and not forced:
        bound = BASE_BOUND_S + shape.extra_bound + (0.2 * 3 if shape.hanging else 0.0)
        if trial.elapsed > bound:
            bad(f"signal → exit {trial.elapsed:.2f}s > bound {bound:.2f}s")


def _expected_code(
    shape: Shape, event: str, first_signal: int | None, started: list[dict[str, object]], proc: JobProcess
) -> int | None:
    """The one exit code the documentation allows for this trial (``None``: no single one)."""
    if event in ("argo-deadline", "timeout"):
        return 124 if shape.endless else 0
    if first_signal is None:
        return 0
    if not started:
        return _CODES[first_signal]  # a signal before the run: 128 + signal, phase startup
    cancelled = [e for e in proc.named("signal.received") if e.get("action") == "cancel"]
    if shape.endless and event != "sigterm-after-finish":
        return _CODES[first_signal]  # the job never ends by itself: the signal is what ended it
    if cancelled:
        return _CODES[first_signal]
    return 0  # the job had already finished: a later signal keeps its code


def _is_json(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


_MUST = {
    (shape, "sigterm-running")
    for shape in (
        "async-block",
        "async-cpu",
        "sync-swallow",
        "async-swallow",
        "async-own-handler",
        "sync-raw-handler",
    )
}
_MUST |= {
    ("fork-pool", "none"),
    ("fork-pool", "sigterm-running"),
    ("fork-pool", "timeout"),
    ("spawn-pool", "sigterm-running"),
    ("process-terminate", "sigterm-running"),
    ("bare-fork", "none"),
    ("bare-fork", "argo-deadline"),
    ("atexit-hooks", "none"),
    ("idle-executor", "none"),
    ("c-blocking-close", "sigterm-running"),
    ("c-blocking-close", "timeout"),
    ("process-pool-pending", "none"),
    ("child-ignoring-sigterm", "sigterm-running"),
    ("grandchild-ignoring-sigterm", "timeout"),
    ("daemonized-grandchild", "none"),
    ("daemonized-grandchild", "sigint-twice"),
    ("thread-pool-pending", "sigterm-running"),
    ("faulthandler-sigterm", "sigterm-running"),
    ("atexit-sys-exit", "none"),
}
"""Cells the sample always runs: the hostile shapes while their own code runs; the standard
library's shapes with no event, a signal while they work, and a deadline."""


def sample() -> list[tuple[str, str]]:
    """A deterministic selection that covers every shape and every event at least once."""
    shapes = list(SHAPES)
    picked = {(shape, EVENTS[(i * 3) % len(EVENTS)]) for i, shape in enumerate(shapes)}
    picked |= {(shapes[(i * 5) % len(shapes)], event) for i, event in enumerate(EVENTS)}
    return sorted(picked | _MUST)
