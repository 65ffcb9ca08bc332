"""Run the lifecycle test app as a real process and follow it through its JSON log lines.

Used by the tests in this package and by ``benchmarks/stress_signals.py`` / ``exit_latency.py``.
Synchronisation is always on what the child says (a log event read from its stdout pipe) or on
its exit, never on a sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
REPO = HERE.parent.parent
APP = "lifeapp:Container"


CANARY = "canary-3f9c2e7d1b"


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without anything that configures jobframe or Argo."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JOBFRAME_", "ARGO_", "LIFECYCLE_")) and k != "PYTHONPATH"
    }
    env["PYTHONPATH"] = str(REPO)
    env["API_TOKEN"] = CANARY  # loaded as a SecretStr by the test app; wait() fails if it is printed
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONFAULTHANDLER"] = "1"  # a hung child can be made to show its stacks
    env.update(extra or {})
    return env


def jobframe_cmd(job: str, *args: str, params: dict[str, Any] | None = None, app: str = APP) -> list[str]:
    cmd = [sys.executable, "-m", "jobframe", "--app", app, "--job-name", job, "--log-format", "json"]
    for key, value in (params or {}).items():
        cmd += ["--param", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    return [*cmd, *args]


@dataclass(frozen=True)
class Sent:
    """A signal sent to the job's group, when, and how the job process stood toward it then."""

    sig: int
    at: float
    state: str


@dataclass
class Line:
    """One stdout line of the child, parsed when it is JSON, with the time it was read."""

    at: float
    raw: str
    event: dict[str, Any] | None


class JobProcess:
    """A running jobframe child process (its own session, so its whole group can be signalled)."""

    def __init__(
        self,
        job: str,
        *args: str,
        params: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        record: Path | None = None,
        cmd: Sequence[str] | None = None,
        cwd: Path = APPS,
        app: str = APP,
    ) -> None:
        extra = dict(env or {})
        if record is not None:
            extra["LIFECYCLE_RECORD"] = str(record)
        self.record_path = record
        self.cmd = list(cmd) if cmd is not None else jobframe_cmd(job, *args, params=params, app=app)
        self.lines: list[Line] = []
        self.exited_at: float | None = None
        self.exited_wall: float | None = None
        self._cond = threading.Condition()
        self.started_at = time.monotonic()
        self.sent: list[Sent] = []
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=cwd,
            env=child_env(extra),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self._stderr: list[bytes] = []
        self._stdout_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._stdout_reader.start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()
        threading.Thread(target=self._wait, daemon=True).start()

    # -- background readers ----------------------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw_bytes in iter(self.proc.stdout.readline, b""):
            at = time.monotonic()
            raw = raw_bytes.decode(errors="replace").rstrip("\n")
            event = None
            if raw.startswith("{"):
                with contextlib.suppress(ValueError):
                    event = json.loads(raw)
            with self._cond:
                self.lines.append(Line(at, raw, event))
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(self.proc.stderr.readline, b""):
            self._stderr.append(chunk)

    def _wait(self) -> None:
        self.proc.wait()
        at, wall = time.monotonic(), time.time()
        with self._cond:
            self.exited_at, self.exited_wall = at, wall
            self._cond.notify_all()

    # -- waiting -----------------------------------------------------------------------------------

    def wait_for(
        self, event: str, timeout: float = 20.0, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> Line:
        """The first line whose ``event`` is ``event`` (and matches ``where``); fails on exit or timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    found = line.event and line.event.get("event") == event
                    if found and (where is None or where(line.event)):  # type: ignore[arg-type]
                        return line
                # after the exit the reader may still be draining the pipe: give it a moment
                if self.exited_at is not None and time.monotonic() > self.exited_at + 2.0:
                    raise AssertionError(f"process exited without logging {event!r}:\n{self.output}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {event!r} within {timeout}s:\n{self.output}")
                self._cond.wait(min(left, 0.1))

    def wait(self, timeout: float = 20.0) -> int:
        """Wait for the exit; a process still alive after ``timeout`` is killed and the test fails."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.exited_at is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._dump_stacks()
                    self.kill()
                    raise AssertionError(f"process still running after {timeout}s:\n{self.output}")
                self._cond.wait(left)
        self.drain()
        assert CANARY not in self.output, f"secret leaked:\n{self.output}"
        return self.proc.returncode

    def wait_exit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the exit, without failing; ``True`` if it exited."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.exited_at is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def wait_until_handling(self, timeout: float = 10.0) -> None:
        wait_until_handling(self.proc, timeout)

    def _dump_stacks(self) -> None:
        """SIGABRT makes faulthandler (PYTHONFAULTHANDLER=1) print every thread's stack to stderr."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGABRT)
        self._cond.wait(1.0)

    def drain(self, timeout: float = 2.0) -> None:
        """Wait until stdout and stderr reached EOF, i.e. everything the child wrote has been read
        (bounded: a descendant that outlived the child may still hold a pipe open)."""
        deadline = time.monotonic() + timeout
        for reader in (self._stdout_reader, self._stderr_reader):
            reader.join(max(deadline - time.monotonic(), 0.0))

    # -- signals -------------------------------------------------------------------------------

    def send(self, sig: int) -> float:
        """Signal the jobframe process; returns when it was sent."""
        at = time.monotonic()
        os.kill(self.pid, sig)
        return at

    def send_group(self, sig: int) -> float:
        state = signal_state(self.pid)  # what the kernel would do with it: a kill names its cause
        at = time.monotonic()
        os.killpg(self.pid, sig)
        self.sent.append(Sent(int(sig), at, state))
        return at

    def death(self) -> str:
        """How a process that died of a signal's default action was found by each signal sent to
        it: whether it caught the signal then, and when, relative to the first one."""
        code = self.proc.returncode
        if code is None or code >= 0:
            return ""
        first = self.sent[0].at if self.sent else self.started_at
        parts = [f"died of {_signal_name(-code)}"]
        if self.exited_at is not None:
            parts.append(f"{self.exited_at - first:+.3f}s after the first signal")
        for sent in self.sent:
            parts.append(f"{_signal_name(sent.sig)} at {sent.at - first:+.3f}s found {sent.state}")
        last = [str(e.get("event")) for e in self.events][-3:]
        return "; ".join(parts) + f"; its last lines: {last}; stderr: {self.stderr[-600:]!r}"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(5)

    # -- what it said ----------------------------------------------------------------------------

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._cond:
            return [line.event for line in self.lines if line.event is not None]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]

    def one(self, event: str) -> dict[str, Any]:
        found = self.named(event)
        assert len(found) == 1, f"expected one {event!r}, got {len(found)}:\n{self.output}"
        return found[0]

    def order(self) -> list[str]:
        return [str(e.get("event")) for e in self.events]

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    @property
    def output(self) -> str:
        with self._cond:
            out = "\n".join(line.raw for line in self.lines)
        return f"--- stdout ---\n{out}\n--- stderr ---\n{self.stderr}"

    def record(self) -> Record:
        assert self.record_path is not None
        return Record.read(self.record_path)


@dataclass
class Record:
    """The open/close lines the test app's resources wrote."""

    lines: list[tuple[str, str, str]] = field(default_factory=list)  # (verb, name, exc)

    @classmethod
    def read(cls, path: Path) -> Record:
        rec = cls()
        if path.exists():
            for text in path.read_text().splitlines():
                verb, name, *rest = text.split()
                rec.lines.append((verb, name, rest[0] if rest else "-"))
        return rec

    @property
    def opened(self) -> list[str]:
        return [name for verb, name, _ in self.lines if verb == "open"]

    @property
    def closed(self) -> list[str]:
        return [name for verb, name, _ in self.lines if verb == "close"]

    def exc_of(self, name: str) -> str:
        return next(exc for verb, n, exc in self.lines if verb == "close" and n == name)

    def still_open(self) -> list[str]:
        """Resources opened and not closed afterwards."""
        left: list[str] = []
        for verb, name, _ in self.lines:
            if verb == "open":
                left.append(name)
            elif name in left:
                left.remove(name)
        return left


@contextlib.contextmanager
def running(*args: Any, **kwargs: Any) -> Iterator[JobProcess]:
    """A :class:`JobProcess` that is killed (with its group) if the block leaves it running."""
    job = JobProcess(*args, **kwargs)
    try:
        yield job
    finally:
        if job.proc.poll() is None:
            job.kill()


def wait_until_handling(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Wait until ``proc`` catches SIGTERM (``SigCgt`` in ``/proc/PID/status``): jobframe's first
    line installs its SIGTERM and SIGINT handlers together, and from then on the promise holds.
    Before it, the interpreter is still starting (and already catches SIGINT itself, so SIGINT
    says nothing). There is no event to wait for, so this polls the kernel's view."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            return
        caught = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
        if int(caught, 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.002)  # polling the kernel's state, not waiting for time to pass


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Trial:
    """One signal sent at a random point of a run, and what came of it."""

    delay: float
    code: int
    latency: float
    still_open: list[str]
    opened: list[str]
    phase: str | None
    finished_status: str | None
    output: str


def signal_trial(
    workdir: Path,
    index: int,
    delay: float,
    *,
    job: str = "Holder",
    sig: int = signal.SIGTERM,
    seconds: float = 30.0,
    init_delay: float = 0.03,
    close_delay: float = 0.02,
    extra_args: Sequence[str] = (),
) -> Trial:
    """Start ``job``, wait for ``job.started``, sleep ``delay`` (the random point), send ``sig``."""
    record = workdir / f"record-{index}.txt"
    env = {"LIFECYCLE_INIT_DELAY": str(init_delay), "LIFECYCLE_CLOSE_DELAY": str(close_delay)}
    with running(job, *extra_args, params={"seconds": seconds}, env=env, record=record) as proc:
        proc.wait_for("job.started")
        time.sleep(delay)  # not synchronisation: the random point of the run the signal lands on
        try:
            sent = proc.send(sig)
        except ProcessLookupError:  # the run was already over: the signal came too late to matter
            sent = time.monotonic()
        code = proc.wait(15)
        assert proc.exited_at is not None
        received = proc.named("signal.received")
        finished = proc.named("job.finished")
        rec = proc.record()
        return Trial(
            delay=delay,
            code=code,
            latency=max(proc.exited_at - sent, 0.0),
            still_open=rec.still_open(),
            opened=rec.opened,
            phase=received[0].get("phase") if received else None,
            finished_status=finished[0].get("status") if finished else None,
            output=proc.output,
        )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal other than SIGRTMIN/SIGRTMAX (the run's timer signal)
        return f"signal {number}"


def signal_state(pid: int) -> str:
    """Whether ``pid`` catches, blocks or ignores SIGTERM and SIGINT right now (``/proc``), e.g.
    ``TERM caught, INT caught``; ``gone`` once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    masks = {
        name: int(line.split()[1], 16)
        for line in status.splitlines()
        for name in ("SigBlk", "SigIgn", "SigCgt")
        if line.startswith(name + ":")
    }
    if status.split("State:", 1)[-1].split()[0] in ("Z", "X"):
        return "exited"
    described = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        bit = 1 << (sig - 1)
        how = (
            "caught"
            if masks.get("SigCgt", 0) & bit
            else "ignored"
            if masks.get("SigIgn", 0) & bit
            else "DEFAULT"
        )
        if masks.get("SigBlk", 0) & bit:
            how += " (blocked in the main thread)"
        described.append(f"{sig.name.removeprefix('SIG')} {how}")
    return ", ".join(described)


def session_alive(sid: int) -> list[int]:
    """Live processes of session ``sid`` (a job started with ``start_new_session`` leads its own),
    from the kernel's process table: whatever the job started, however deep or re-parented."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            alive.append(int(stat.parent.name))
    return [pid for pid in alive if pid_alive(pid)]


def end_session(sid: int) -> list[int]:
    """SIGKILL what is left of session ``sid`` (so a failing test leaks nothing); returns it."""
    left = session_alive(sid)
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return left
