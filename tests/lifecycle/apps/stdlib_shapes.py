"""Standard-library shapes real jobs have: multiprocessing children, atexit hooks, executors.

Used by ``hostile.py`` (the ``StdlibShape`` job) and by ``test_forks.py`` / ``test_exit_hooks.py``.
``--param shape=...``:

- ``pool``: ``with Pool(2) as p: p.map(square, ...)`` over and over (``HOSTILE_START``: the start
  method, ``fork`` by default) — each pool's end SIGTERMs its workers;
- ``terminate``: ``Process(target=wait_forever).start()`` then ``.terminate()``, over and over;
  each child's exit code is kept (``-15`` when SIGTERM ended it, as in plain Python);
- ``fork``: a bare ``os.fork()`` child that waits until its parent SIGTERMs it, over and over;
- ``pool_held``: ``Pool(2)`` held open where a cancellation lands inside it — its workers and
  worker handler run, the pool's finalizer is not registered yet (the task handler's
  ``Thread.start`` waits, logging ``app.pool_window``); waits until the run is cancelled;
- ``respawn``: two threads each keep one child running and start a new one whenever it dies
  (``HOSTILE_START``: a start method, or ``bare`` for ``os.fork()``), as a pool's worker handler
  does; logs ``app.children`` once both run, then waits ``seconds``;
- ``fork_return``: a bare ``os.fork()`` child that returns from ``execute`` into jobframe;
- ``fork_probe``: a bare ``os.fork()`` child reports what it got (its handlers, the wakeup fd,
  whether ``signal.signal`` is the real one) and exits; the job returns the report;
- ``atexit``: registers ``atexit`` hooks (``HOSTILE_ATEXIT``: comma-separated ``write``, ``socket``,
  ``hang``, ``raise``; ``reporter``: an error reporter's ``sys.excepthook`` and flush) that append
  to ``$LIFECYCLE_RECORD`` / send to ``HOSTILE_SINK`` (a loopback ``host:port``), then returns;
- ``executor``: submits one task to the Singleton ``ThreadPoolExecutor`` it is given and returns,
  leaving the executor idle (never shut down);
- ``c_close``: uses the Singleton client whose ``close()`` blocks where no signal reaches (a flush
  in C: every signal blocked in that thread), then waits ``seconds`` and returns.

With ``seconds`` > 0 the repeating shapes go on until that much time passed (at least one round);
``rounds`` bounds them by count instead.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import logging.handlers
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from lifeapp import record
from pydantic import BaseModel
from workers import square, wait_forever

import jobframe

log = jobframe.get_logger("hostile")

StdlibShape = Literal[
    "pool",
    "terminate",
    "fork",
    "pool_held",
    "respawn",
    "fork_return",
    "fork_probe",
    "atexit",
    "executor",
    "c_close",
]

_real_signal = signal.signal  # taken at import, before the run guards the module attribute


class StdlibParams(BaseModel):
    shape: StdlibShape = "pool"
    seconds: float = 0.0
    rounds: int = 1


def _context() -> Any:
    return multiprocessing.get_context(os.environ.get("HOSTILE_START", "fork"))


def _pool_round() -> int:
    with _context().Pool(2) as pool:
        return sum(pool.map(square, range(20)))


def _terminate_round() -> int:
    child = _context().Process(target=wait_forever)
    child.start()
    child.terminate()
    child.join()
    return int(child.exitcode or 0)


def _fork_round() -> int:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: says it is ready, then waits to be ended
        os.close(read)
        os.write(write, b"r")
        time.sleep(600)
        os._exit(0)
    os.close(write)
    os.read(read, 1)  # the child is running its own code now
    os.close(read)
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _pool_held() -> None:
    """Enter ``Pool(2)`` and stay where a cancellation can land inside it: the workers and the
    worker handler run, the finalizer that would terminate them at the exit is not registered."""
    start = threading.Thread.start

    def held(thread: threading.Thread) -> None:
        if getattr(getattr(thread, "_target", None), "__name__", "") == "_handle_tasks":
            log.info("app.pool_window", workers=[p.pid for p in multiprocessing.active_children()])
            threading.Event().wait()  # where Thread.start waits for the thread to run
        start(thread)

    threading.Thread.start = held  # type: ignore[method-assign]
    try:
        with _context().Pool(2) as pool:
            pool.map(square, range(20))
    finally:
        threading.Thread.start = start  # type: ignore[method-assign]


def _keep_one_child(ready: threading.Event) -> None:
    method = os.environ.get("HOSTILE_START", "fork")
    while True:
        if method == "bare":
            pid = os.fork()
            if pid == 0:
                time.sleep(600)
                os._exit(0)
            ready.set()
            os.waitpid(pid, 0)
        else:
            child = _context().Process(target=wait_forever, daemon=True)
            child.start()
            ready.set()
            child.join()


def _respawn(seconds: float) -> None:
    events = [threading.Event() for _ in range(2)]
    for ready in events:
        threading.Thread(target=_keep_one_child, args=(ready,), name="respawner", daemon=True).start()
    for ready in events:
        ready.wait()
    log.info("app.children", children=[int(p) for p in _children_of(os.getpid())])
    time.sleep(seconds)


def _children_of(pid: int) -> list[str]:
    found: list[str] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as children:
            found += children.read().split()
    return sorted(set(found))


def _probe_child() -> dict[str, Any]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        report = {
            "sigterm": getattr(signal.getsignal(signal.SIGTERM), "name", "?"),
            "sigint": getattr(signal.getsignal(signal.SIGINT), "__name__", "?"),
            "wakeup_fd": signal.set_wakeup_fd(-1),
            "real_signal": signal.signal is _real_signal,
            "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        }
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = json.loads(pipe.read())
    os.waitpid(pid, 0)
    return report  # type: ignore[no-any-return]


_ROUNDS = {"pool": _pool_round, "terminate": _terminate_round, "fork": _fork_round}


class BlockingFlushClient:
    """A client whose ``close()`` flushes where no signal reaches (like librdkafka's flush in C):
    the calling thread blocks every signal and sleeps ``HOSTILE_FLUSH_S`` seconds (default 0).
    Records each call (`open flush_client`) and its end, and whether another call overlapped."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = 0
        self.overlapped = False
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.overlapped = self.overlapped or self.running > 1
            overlapped = self.overlapped
        record("open flush_client")
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            time.sleep(float(os.environ.get("HOSTILE_FLUSH_S", "0")))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            with self._lock:
                self.running -= 1
        record(f"close flush_client {'overlapped' if overlapped else '-'}")


def _hook(kind: str) -> Any:
    def write() -> None:
        record(f"close atexit-{kind} -")

    def send() -> None:
        host, port = os.environ["HOSTILE_SINK"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=2) as conn:
            conn.sendall(b"flushed\n")

    def hang() -> None:
        time.sleep(600)

    def fail() -> None:
        raise RuntimeError("atexit hook refuses")

    return {"write": write, "socket": send, "hang": hang, "raise": fail}[kind]


def _buffered_log() -> None:
    """A library's buffered log (records kept in memory until flushed: ``logging.shutdown``'s job
    at a normal exit) with one record in it."""
    target = logging.FileHandler(os.environ["HOSTILE_LOG_FILE"])
    buffered = logging.handlers.MemoryHandler(capacity=1000, flushLevel=logging.CRITICAL, target=target)
    library = logging.getLogger("hostile.buffered")
    library.addHandler(buffered)
    library.propagate = False
    library.warning("kept in memory until the exit")


def _error_reporter() -> None:
    """An error reporter's shape (sentry-sdk, Rollbar, Bugsnag): its own ``sys.excepthook`` queues
    the exception (recorded) and then calls the hook it replaced (as sentry-sdk does: Python's own,
    which prints the traceback), an ``atexit`` hook flushes the queue (recorded after it); then the
    job fails with ``HOSTILE_RAISE``, if set."""
    queued: list[str] = []
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], error: BaseException, tb: Any) -> None:
        queued.append(f"{kind.__name__}:{error}")
        previous(kind, error, tb)

    def flush() -> None:
        record(f"close reporter {','.join(queued) or '-'}")

    sys.excepthook = excepthook
    atexit.register(flush)
    record("registered reporter")
    if os.environ.get("HOSTILE_RAISE"):
        raise RuntimeError(os.environ["HOSTILE_RAISE"])


def _register_hooks() -> None:
    for kind in filter(None, os.environ.get("HOSTILE_ATEXIT", "write").split(",")):
        if kind == "buffered_log":
            _buffered_log()
        elif kind == "reporter":
            _error_reporter()
        else:
            atexit.register(_hook(kind))
            record(f"registered atexit-{kind}")  # a run cancelled before this has no hook to run


class StdlibJob:
    """A sync job of a stdlib shape, holding one recorded resource, an executor and a client."""

    def __init__(self, executor: ThreadPoolExecutor, client: BlockingFlushClient, **resources: Any) -> None:
        self.executor, self.client, self.resources = executor, client, resources

    def execute(self, params: StdlibParams) -> dict[str, Any]:
        log.info("app.working", shape=params.shape, pid=os.getpid())
        if params.shape == "fork_return":
            pid = os.fork()
            return {"shape": params.shape, "child": pid == 0}
        if params.shape == "fork_probe":
            return {"shape": params.shape, "child": _probe_child()}
        if params.shape == "pool_held":
            _pool_held()
        elif params.shape == "respawn":
            _respawn(params.seconds)
        elif params.shape == "atexit":
            _register_hooks()
        elif params.shape == "executor":
            self.executor.submit(square, 3).result()
        elif params.shape == "c_close":
            log.info("app.client", client=type(self.client).__name__)
            end = time.monotonic() + params.seconds
            while time.monotonic() < end:
                time.sleep(0.01)
        else:
            return {"shape": params.shape, "results": self._repeat(params)}
        return {"shape": params.shape}

    def _repeat(self, params: StdlibParams) -> list[int]:
        step = _ROUNDS[params.shape]
        end = time.monotonic() + params.seconds
        results = [step()]
        while len(results) < params.rounds or time.monotonic() < end:
            results.append(step())
        return sorted(set(results))


def busy_executor() -> Iterator[ThreadPoolExecutor]:
    """A resource whose close waits for a task that runs 600 s: ``shutdown(wait=True)`` hangs until
    the teardown timer interrupts it — after which CPython 3.11 says its worker is not alive."""
    executor = ThreadPoolExecutor(1, thread_name_prefix="busy-worker")
    executor.submit(time.sleep, 600)
    try:
        yield executor
    finally:
        executor.shutdown(wait=True)


class BusyExecutorJob:
    """Holds :func:`busy_executor` and returns at once."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.executor = executor

    def execute(self) -> None:
        log.info("app.working", shape="busy_executor", pid=os.getpid())


class Stoppable:
    """Has only ``stop()`` (like a scheduler or a server of a library jobframe does not know): the
    safety net must name it and never call it."""

    def stop(self) -> None:
        record("close stoppable-STOPPED-BY-JOBFRAME")


class AsyncFlushJob:
    """An async job holding the blocking-flush client and a :class:`Stoppable`, both Singletons;
    waits ``seconds``."""

    def __init__(self, client: BlockingFlushClient, stoppable: Stoppable) -> None:
        self.client, self.stoppable = client, stoppable

    async def execute(self, params: StdlibParams) -> None:
        log.info("app.working", shape="async_c_close", pid=os.getpid())
        await asyncio.sleep(params.seconds)
