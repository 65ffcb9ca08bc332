"""The chaos matrix: trouble around a resumable run x the two bulk jobs, through real processes.

Each trial runs the default app's jobs as real processes against the fake Braze — whose request
log is the truth — with a ledger in SQLite or on a real PostgreSQL server, and brings one fault
about: two attempts at once, a ledger deleted, emptied or with its WAL cut after a kill, a
resubmitted workflow (a new run key), the store stopped mid-run or down at the start, a full disk,
a lease holder frozen (SIGSTOP) past its lease then resumed, a killed holder. Every kill, freeze and
overlap waits for an event — the fake having received the N-th request (or holding it unanswered),
a log line, a process's exit — never for a guessed delay.

:func:`check` is the invariant of every trial: no id reaches the fake twice, every id is received
or listed ambiguous by the attempt that finishes, and every attempt exits with the code
docs/resume.md documents for what happened to it. Used by ``test_chaos.py`` (a sample) and
``benchmarks/resume_chaos.py`` (the whole matrix).
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from jobframe.ledger import LedgerSettings, RunLedger
from jobframe.ledger.store import open_store
from tests.ledger.stores import fresh_database

from .harness import SEND, TRACK, Attempt, KillingBraze, collect, fake_braze, launch, ledger_env, write_ids
from .pg import PostgresServer

__all__ = [
    "FAULTS",
    "JOBS",
    "PostgresStore",
    "SqliteStore",
    "Store",
    "Trial",
    "applies",
    "check",
    "run_trial",
]

IDS = 1500
AT = 6
"""The bulk request a fault waits for (of 30 sends, or 20 attribute batches)."""
LEASE = 2.0
RETRY = ("--retry-number", "1")


@dataclass(frozen=True)
class Job:
    name: str
    endpoint: str
    write: Callable[[Path], tuple[list[str], dict[str, Any]]]


def _push(tmp: Path) -> tuple[list[str], dict[str, Any]]:
    ids = write_ids(tmp / "ids.txt", IDS)
    return ids, {"path": tmp / "ids.txt", "title": "Hello", "body": "Once"}


def _increments(tmp: Path) -> tuple[list[str], dict[str, Any]]:
    """Attribute updates that add to a value: applied twice, counted twice (not repeatable)."""
    ids = [f"a{i:06d}" for i in range(IDS)]
    lines = (json.dumps({"external_id": i, "logins": {"inc": 1}}) for i in ids)
    (tmp / "attributes.jsonl").write_text("\n".join(lines) + "\n")
    return ids, {"path": tmp / "attributes.jsonl"}


JOBS = {
    "send": Job("SendPushFromFile", SEND, _push),
    "increment": Job("UpdateUserAttributes", TRACK, _increments),
}


# -- stores ------------------------------------------------------------------------------------


class Store:
    """Where a trial's ledger lives, and the faults that can befall it."""

    name = ""

    def env(self, **extra: str) -> dict[str, str]:
        raise NotImplementedError

    def settings(self) -> LedgerSettings:
        raise NotImplementedError

    def prime(self) -> None:
        """Record another run, finished: a store in use."""
        other = RunLedger.open(self.settings(), key="another-run", job="Other", fingerprint="x")
        other.finish(succeeded=True)

    def delete(self) -> None:
        raise NotImplementedError

    def empty(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """The store unreachable (SQLite: its write lock held elsewhere; PostgreSQL: stopped)."""
        raise NotImplementedError
        yield


class SqliteStore(Store):
    name = "sqlite"

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "ledger.sqlite3"
        self._tmp = tmp

    def env(self, **extra: str) -> dict[str, str]:
        return {**ledger_env("sqlite", self._tmp), "LEDGER__LEASE": str(LEASE), **extra}

    def _files(self) -> list[Path]:
        return [self.path.with_name(self.path.name + suffix) for suffix in ("", "-wal", "-shm")]

    def delete(self) -> None:
        for file in self._files():
            file.unlink(missing_ok=True)

    def empty(self) -> None:
        for file in self._files():
            if file.exists():
                file.write_bytes(b"")

    def settings(self) -> LedgerSettings:
        return LedgerSettings(path=self.path)

    def create(self) -> None:
        """Create the ledger's tables, as a first attempt would."""
        open_store(self.settings()).close()

    def cut_wal(self) -> None:
        """Cut the write-ahead log a killed process left, inside its last frame."""
        wal = self._files()[1]
        size = wal.stat().st_size
        assert size > 32, "no write-ahead log left to cut"
        with wal.open("r+b") as handle:
            handle.truncate(size - 1000)

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        holder = sqlite3.connect(self.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()


class PostgresStore(Store):
    name = "postgres"

    def __init__(self, server: PostgresServer, database: str) -> None:
        self.server = server
        self.dsn = fresh_database(server.dsn, database)
        self.database = database

    def env(self, **extra: str) -> dict[str, str]:
        return {**ledger_env("postgres", Path(), self.dsn), "LEDGER__LEASE": str(LEASE), **extra}

    def settings(self) -> LedgerSettings:
        return LedgerSettings(store="postgres", dsn=self.dsn)

    def delete(self) -> None:
        fresh_database(self.server.dsn, self.database)

    def empty(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for table in ("batches", "streams", "runs"):
                conn.execute(f"TRUNCATE jobframe_ledger_{table}")

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        self.server.stop()
        try:
            yield
        finally:
            self.server.start()


# -- trials ------------------------------------------------------------------------------------


@dataclass
class Trial:
    """What one trial did: every attempt (with what the test expected of it) and the fake's log."""

    fault: str
    job: Job
    store: str
    ids: list[str]
    attempts: list[tuple[str, Attempt, tuple[int, ...]]] = field(default_factory=list)
    received: Counter[str] = field(default_factory=Counter)
    notes: dict[str, float] = field(default_factory=dict)

    def add(self, role: str, attempt: Attempt, *codes: int) -> Attempt:
        self.attempts.append((role, attempt, codes))
        return attempt

    @property
    def final(self) -> Attempt | None:
        """The attempt that finished the run (exit 0), if one was run."""
        done = [a for _, a, _ in self.attempts if a.code == 0]
        return done[-1] if done else None


def check(trial: Trial) -> None:
    """The invariant of every trial (raises AssertionError naming what broke); ``ledger.unused``
    ("no run ledger was opened") is never said by an attempt whose wired ledger refused it."""
    where = f"{trial.fault} x {trial.job.name} on {trial.store}"
    for role, attempt, codes in trial.attempts:
        assert attempt.code in codes, (
            f"{where}: {role} exited {attempt.code}, expected {codes}\n{attempt.output[-4000:]}"
        )
        unused = [e for e in attempt.events if e.get("event") == "ledger.unused"]
        assert unused == [], f"{where}: {role} says no ledger was wired, though it is: {unused}"
    twice = sorted(i for i, n in trial.received.items() if n > 1)
    assert twice == [], f"{where}: {len(twice)} ids reached Braze twice, e.g. {twice[:5]}"
    assert not set(trial.received) - set(trial.ids), f"{where}: ids that are not in the input"
    final = trial.final
    if final is not None:
        missing = set(trial.ids) - set(trial.received) - final.ambiguous_ids()
        assert missing == set(), f"{where}: {len(missing)} ids neither received nor listed ambiguous"


def _received(fake: KillingBraze, job: Job) -> Counter[str]:
    return fake.ids_sent() if job.endpoint == SEND else fake.objects_tracked()


def _refusal(attempt: Attempt) -> str:
    finished = attempt.one("job.finished")
    return str(finished.get("error_message", ""))


FAULTS: dict[str, Callable[..., None]] = {}


def _fault(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(function: Callable[..., None]) -> Callable[..., None]:
        FAULTS[name] = function
        return function

    return register


def _overlap(apart: float) -> Callable[..., None]:
    def trial(t: Trial, store: Store, fake: KillingBraze, run: Callable[..., Any]) -> None:
        """Two attempts with one key: the holder's AT-th request is held unanswered — so it is
        surely alive and mid-run — until the other has exited; that one must send nothing, 75."""
        fake.hold_at = AT
        env = store.env(LEDGER__LEASE_WAIT="0")
        first = run(env)
        time.sleep(apart)  # not synchronisation: how far apart the two attempts start (the fault)
        second = run(env)
        assert fake.holding.wait(60), "no attempt reached the fake"
        procs = [first, second]
        while all(p.proc.poll() is None for p in procs):  # the one without the key exits by itself
            procs[0].wait_exit(0.05)
            procs[1].wait_exit(0.05)
        loser = next(p for p in procs if p.proc.poll() is not None)
        winner = procs[1 - procs.index(loser)]
        refused = t.add("the second attempt", collect(loser), 75)
        assert "held by another attempt" in _refusal(refused), refused.output[-3000:]
        assert not any(e.get("event") == "ledger.opened" for e in refused.events)  # so it sent nothing
        fake.released.set()
        t.add("the holder", collect(winner), 0)

    return trial


for _apart in (0.0, 0.3, 1.5):
    _fault(f"overlap {_apart:g} s")(_overlap(_apart))


def _killed(store: Store, fake: KillingBraze, run: Callable[..., Any], t: Trial, **env: str) -> int:
    """A first attempt SIGKILLed by the fake when its AT-th request arrives (before any answer);
    how many bulk requests reached the fake by then (with concurrent sends, a few more than AT)."""
    proc = run(store.env(**env))
    fake.victim, fake.kill_at = proc.pid, AT
    t.add("the killed attempt", collect(proc), -9)
    fake.victim = fake.kill_at = None
    return fake.bulk_seen


def _lost(damage: str) -> Callable[..., None]:
    def trial(t: Trial, store: Store, fake: KillingBraze, run: Callable[..., Any]) -> None:
        seen = _killed(store, fake, run, t)
        if damage == "deleted":
            store.delete()
        elif damage == "emptied":
            store.empty()
        else:
            assert isinstance(store, SqliteStore)
            store.cut_wal()
        retry = t.add("the retry", collect(run(store.env(), args=RETRY)), 78)
        message = _refusal(retry)
        assert "'chaos'" in message and ("no record" in message or "cut short" in message), message
        assert fake.bulk_seen == seen, "the retry sent something"

    return trial


for _damage in ("deleted", "emptied", "WAL cut"):
    _fault(f"ledger {_damage} after a kill")(_lost(_damage))


@_fault("resubmit with a new key")
def _resubmit(t: Trial, store: Store, fake: KillingBraze, run: Callable[..., Any]) -> None:
    seen = _killed(store, fake, run, t)
    again = t.add("the resubmitted run", collect(run(store.env(), key="chaos-resubmitted")), 78)
    message = _refusal(again)
    assert "'chaos'" in message and "--run-key chaos" in message, message
    assert fake.bulk_seen == seen
    t.add("the earlier key, continued", collect(run(store.env(LEDGER__LEASE_WAIT="60"), args=RETRY)), 0)


@_fault("store stopped mid-run")
def _stopped(t: Trial, store: Store, fake: KillingBraze, run: Callable[..., Any]) -> None:
    fake.hold_at = AT
    proc = run(store.env(LEDGER__TIMEOUT="2"))
    assert fake.holding.wait(60)
    with store.down():
        fake.released.set()
        t.add("the attempt that lost its store", collect(proc), 75)
    t.add("the retry", collect(run(store.env(), args=RETRY)), 0)


@_fault("store down at the start")
def _down(t: Trial, store: Store, fake: KillingBraze, run: Callable[..., Any]) -> None:
    store.prime()  # a store in use: it holds other runs (an empty one could have lost this run's)
    with store.down():
        failed = t.add("the attempt without a store", collect(run(store.env(LEDGER__TIMEOUT="2"))), 75)
    assert "ledger" in _refusal(failed) and fake.bulk_seen == 0
    t.add("the retry", collect(run(store.env(), args=RETRY)), 0)


@_fault("disk full")
def _disk_full(t: Trial, store: Store, fake: KillingBraze, run: Callable[..., Any]) -> None:
    assert isinstance(store, SqliteStore), "a PostgreSQL server's disk is not the job's"
    # the ledger exists; the job may write a few pages more, then the disk is full
    store.create()
    used = max(f.stat().st_size for f in store._files() if f.exists())
    full = t.add("the attempt on a full disk", collect(run(store.env(), limit=used + 6 * 4120)), 75)
    assert "ledger" in _refusal(full) or "ledger" in full.output
    t.add("the retry", collect(run(store.env(), args=RETRY)), 0)


@_fault("holder frozen past its lease")
def _frozen(t: Trial, store: Store, fake: KillingBraze, run: Callable[..., Any]) -> None:
    frozen = run(store.env())
    fake.wait_bulk(AT)
    stopped = frozen.send_group(signal.SIGSTOP)
    try:
        taker = run(store.env(LEDGER__LEASE_WAIT="60"), args=RETRY)
        opened = taker.wait_for("ledger.opened", timeout=60).at
        t.notes["takeover_s"] = opened - stopped
        t.add("the attempt that took over", collect(taker), 0)
    finally:
        frozen.send_group(signal.SIGCONT)
    woken = t.add("the frozen holder, woken", collect(frozen), 75)
    assert "taken over" in woken.output, woken.output[-3000:]
    # its lease ran LEASE from its last renewal, at most a quarter lease before it was stopped
    assert t.notes["takeover_s"] >= 0.75 * LEASE


@_fault("holder killed")
def _killed_holder(t: Trial, store: Store, fake: KillingBraze, run: Callable[..., Any]) -> None:
    holder = run(store.env())
    fake.wait_bulk(AT)
    killed = holder.send_group(signal.SIGKILL)
    t.add("the killed holder", collect(holder), -9)
    early = run(store.env(LEDGER__LEASE_WAIT="0"), args=RETRY)  # right away: its lease still runs
    first = collect(early)
    if first.code == 0:  # the machine was slow enough that the lease had expired: taken over, in time
        t.notes["takeover_s"] = early.wait_for("ledger.opened").at - killed
        t.add("the retry", first, 0)
    else:
        t.add("the retry within the lease", first, 75)
        taker = run(store.env(LEDGER__LEASE_WAIT="60"), args=("--retry-number", "2"))
        t.notes["takeover_s"] = taker.wait_for("ledger.opened", timeout=60).at - killed
        t.add("the retry after the lease", collect(taker), 0)
    assert t.notes["takeover_s"] >= 0.75 * LEASE, (
        "a killed holder's key was taken over before its lease ran out"
    )


def run_trial(fault: str, job_name: str, store: Store, tmp: Path) -> Trial:
    """Run one trial of the matrix; check it with :func:`check`."""
    job = JOBS[job_name]
    ids, params = job.write(tmp)
    trial = Trial(fault, job, store.name, ids)
    with fake_braze() as (fake, server):

        def run(
            env: dict[str, str], *, args: tuple[str, ...] = (), key: str = "chaos", limit: int | None = None
        ) -> Any:
            return launch(job.name, params, server, env, run_key=key, args=args, file_size_limit=limit)

        try:
            FAULTS[fault](trial, store, fake, run)
        finally:
            fake.released.set()
            trial.received = _received(fake, job)
    return trial


def applies(fault: str, store: str) -> bool:
    """Whether ``fault`` can happen to ``store``: a WAL file and the job's own disk are SQLite's."""
    return store == "sqlite" or fault not in ("ledger WAL cut after a kill", "disk full")
