"""Kill a bulk job and run it again: the harness behind the resume tests and benchmark.

The fake Braze's request log is the truth: every id it received, in every attempt. It can also
kill the job itself — SIGKILL to the job's process group when a chosen request arrives, before
answering — the moment between a request and its ledger record that no test could hit by timing.
Jobs are the default app's ``SendPushFromFile`` and ``UpdateUserAttributes``, run as real
processes by ``python -m jobframe`` with ``--run-key``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobframe.braze.fake import FakeBraze, FakeBrazeServer
from jobframe.braze.fake.app import FakeResponse
from tests.lifecycle.jobproc import REPO, JobProcess

__all__ = ["Attempt", "KillingBraze", "bulk_job", "fake_braze", "write_ids"]

SEND, TRACK = "/messages/send", "/users/track"
KEY = "resume-test-key"


class KillingBraze(FakeBraze):
    """A fake Braze that knows which job to kill, and when: at its ``kill_at``-th bulk request."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(api_key=KEY, record_limit=1_000_000, **kw)
        self.kill_at: int | None = None
        self.fail_at: int | None = None
        self.hold_at: int | None = None
        """Hold the bulk request with this number unanswered until :attr:`released` is set."""
        self.holding = threading.Event()
        self.released = threading.Event()
        self.victim: int | None = None
        self.hook: tuple[int, Callable[[int], object]] | None = None
        self.bulk_seen = 0
        self._kill_lock = threading.Lock()  # not FakeBraze's own lock: fail_next takes that
        self._seen = threading.Condition(self._kill_lock)

    def wait_bulk(self, count: int, timeout: float = 60.0) -> None:
        """Wait until ``count`` bulk requests arrived (since the last reset): an event, not a delay."""
        with self._seen:
            if not self._seen.wait_for(lambda: self.bulk_seen >= count, timeout):
                raise AssertionError(f"the fake received {self.bulk_seen} bulk requests, not {count}")

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> FakeResponse:
        if target.split("?", maxsplit=1)[0] in (SEND, TRACK):
            with self._kill_lock:
                self.bulk_seen += 1
                self._seen.notify_all()
                kill = self.kill_at is not None and self.bulk_seen == self.kill_at and self.victim
                fail = self.bulk_seen == self.fail_at
                hold = self.bulk_seen == self.hold_at
            if fail:  # Braze applies it, and answers 503
                self.fail_next(target.split("?", maxsplit=1)[0], status=503)
            if kill and self.victim:
                # received, never answered: the job dies between its request and the ledger's record
                os.killpg(self.victim, signal.SIGKILL)
            if self.hook is not None and self.hook[0] == self.bulk_seen and self.victim:
                self.hook[1](self.victim)  # something happens around the job (its store stops)
            if hold:  # received (and applied when released), answered only once the test lets go
                self.holding.set()
                self.released.wait(300)
        return super().handle(method, target, headers, body)

    def ids_sent(self) -> Counter[str]:
        """How often each external id reached ``/messages/send``, over every attempt."""
        counts: Counter[str] = Counter()
        for request in self.requests_to(SEND):
            counts.update((request.json or {}).get("external_user_ids") or [])
        return counts

    def objects_tracked(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for request in self.requests_to(TRACK):
            counts.update(obj["external_id"] for obj in (request.json or {}).get("attributes") or [])
        return counts


@contextmanager
def fake_braze(latency: float = 0.02) -> Iterator[tuple[KillingBraze, FakeBrazeServer]]:
    fake = KillingBraze(delay=latency)
    with FakeBrazeServer(fake) as server:
        yield fake, server


def write_ids(path: Path, count: int, prefix: str = "u") -> list[str]:
    ids = [f"{prefix}{i:06d}" for i in range(count)]
    path.write_text("\n".join(ids) + "\n")
    return ids


def write_counted_attributes(path: Path, count: int) -> tuple[list[str], list[str]]:
    """Runs of 260 attributes that set a value, then 190 that add to one (``{"inc": 1}``) — runs
    that do not fall on batch boundaries: the ids of each kind."""
    plain, adding = [], []
    with path.open("w") as out:
        for i in range(count):
            if i % 450 >= 260:
                adding.append(f"c{i:06d}")
                out.write(json.dumps({"external_id": adding[-1], "logins": {"inc": 1}}) + "\n")
            else:
                plain.append(f"c{i:06d}")
                out.write(json.dumps({"external_id": plain[-1], "tier": "gold"}) + "\n")
    return plain, adding


def write_attributes(path: Path, count: int) -> list[str]:
    ids = [f"a{i:06d}" for i in range(count)]
    path.write_text("".join(json.dumps({"external_id": i, "tier": "gold"}) + "\n" for i in ids))
    return ids


@dataclass
class Attempt:
    """One run of a bulk job: its exit code and log events."""

    code: int
    events: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""

    def one(self, event: str) -> dict[str, Any]:
        found = [e for e in self.events if e.get("event") == event]
        assert len(found) == 1, f"expected one {event!r}:\n{self.output}"
        return found[0]

    @property
    def resume(self) -> dict[str, Any]:
        return dict(self.one("job.finished").get("resume") or {})

    def ambiguous_ids(self) -> set[str]:
        return {i for batch in self.resume.get("ambiguous", []) for i in batch["ids"]}


def launch(
    job: str,
    params: Mapping[str, Any],
    server: FakeBrazeServer,
    ledger_env: Mapping[str, str],
    *,
    run_key: str | None,
    args: Sequence[str] = (),
    file_size_limit: int | None = None,
) -> JobProcess:
    """Start ``job`` as a process of its own (its own process group) and return at once.

    ``file_size_limit`` caps the files the job may write (``RLIMIT_FSIZE``): a disk that fills up."""
    cmd = [sys.executable, "-m", "jobframe", "--job-name", job, "--log-format", "json"]
    if file_size_limit is not None:  # the limit is inherited across exec; Python ignores SIGXFSZ
        cmd[1:3] = ["-c", _LIMITED, str(file_size_limit)]
    if run_key is not None:
        cmd += ["--run-key", run_key]
    for key, value in params.items():
        cmd += ["--param", f"{key}={value}"]
    env = {
        "BRAZE__BASE_URL": server.url,
        "BRAZE__API_KEY": KEY,
        "BRAZE__RETRY__BACKOFF_BASE": "0.001",
        "BRAZE__RETRY__BACKOFF_CAP": "0.005",
        **ledger_env,
    }
    return JobProcess(job, cmd=[*cmd, *args], env=env, cwd=REPO)


_LIMITED = (
    "import os, resource, sys; limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
    "os.execv(sys.executable, [sys.executable, '-m', 'jobframe', *sys.argv[2:]])"
)


def collect(proc: JobProcess, timeout: float = 120.0) -> Attempt:
    """Wait for ``proc`` to end; its exit code and log events."""
    try:
        proc.wait_exit(timeout)
        proc.drain()
    finally:
        if proc.proc.poll() is None:
            proc.kill()
    return Attempt(proc.proc.returncode, proc.events, proc.output)


def bulk_job(
    job: str,
    params: Mapping[str, Any],
    server: FakeBrazeServer,
    ledger_env: Mapping[str, str],
    *,
    run_key: str | None,
    args: Sequence[str] = (),
    fake: KillingBraze | None = None,
    kill_after: float | None = None,
    kill_on_request: int | None = None,
    fail_on_request: int | None = None,
    hold_request: int | None = None,
    on_request: tuple[int, Callable[[int], object]] | None = None,
    signal_after: tuple[float, int] | None = None,
    timeout: float = 120.0,
) -> Attempt:
    """Run ``job`` once; SIGKILL it ``kill_after`` seconds into its work, or have the fake kill it
    at its ``kill_on_request``-th bulk request, or send it a signal (``(seconds, signum)``).

    "Into its work" counts from the event the kill needs to land after — ``ledger.opened`` with a
    run key (the attempt is counted), else ``job.started`` — never from the process's start: a
    loaded machine only makes the work take longer. ``hold_request``: the fake answers that bulk
    request only after the job ended (the job cannot finish before a deadline or a signal).
    ``on_request``: ``(n, do)`` — the fake calls ``do(pid)`` when the n-th bulk request arrives,
    before applying and answering it."""
    proc = launch(job, params, server, ledger_env, run_key=run_key, args=args)
    if fake is not None:
        fake.victim, fake.kill_at, fake.fail_at, fake.hold_at, fake.bulk_seen = (
            proc.pid,
            kill_on_request,
            fail_on_request,
            hold_request,
            0,
        )
        fake.released.clear()
        fake.hook = on_request
    try:
        if kill_after is not None or signal_after is not None:
            proc.wait_for("ledger.opened" if run_key is not None else "job.started", timeout=60)
            delay, sig = signal_after if signal_after is not None else (kill_after or 0.0, signal.SIGKILL)
            time.sleep(delay)  # not synchronisation: the random point of the run the signal lands on
            with contextlib.suppress(ProcessLookupError):  # it had already finished
                os.killpg(proc.pid, sig)
        return collect(proc, timeout)
    finally:
        if fake is not None:
            fake.victim = fake.kill_at = fake.fail_at = fake.hold_at = fake.hook = None
            fake.released.set()


def ledger_env(store: str, tmp_path: Path, dsn: str | None = None) -> dict[str, str]:
    """Environment that points the default app's ledger at ``store``.

    A short lease, and an attempt that waits for it: a rerun right after a SIGKILL takes the dead
    holder's key over once its lease expires (in production Argo's retry backoff outlasts it)."""
    lease = {"LEDGER__LEASE": "2", "LEDGER__LEASE_WAIT": "60"}
    if store == "sqlite":
        return {"LEDGER__PATH": str(tmp_path / "ledger.sqlite3"), **lease}
    assert dsn is not None
    return {"LEDGER__STORE": "postgres", "LEDGER__DSN": dsn, **lease}
