"""Jobs that misbehave the way real jobs do, for the adversarial lifecycle matrix.

Run from this directory: ``python -m jobframe --app hostile:Container --job-name SyncShape
--param shape=block``. Each job holds three resources that record ``open NAME`` / ``close NAME EXC``
to ``$LIFECYCLE_RECORD`` like the lifecycle app's (see ``lifeapp.py``); ``LIFECYCLE_INIT_DELAY`` /
``LIFECYCLE_CLOSE_DELAY`` slow every open / close down, and ``HOSTILE_CLOSE`` makes the first
resource's (``HOSTILE_CLOSE_WHICH=3``: the third's) close ``hang`` (60 s), ``raise``, or get
``stuck`` (60 s with every signal blocked: code that never returns to the interpreter, which no
signal can interrupt), or ``hold`` (until the test says go: ``holds.py``, which also holds other
stages of the run open with ``HOSTILE_HOLD``).

Shapes (``--param shape=...``), each a way real code behaves:

- ``sleep``: waits in short sleeps (sync) or awaits (async) — a well-behaved job.
- ``block``: one long blocking call — ``time.sleep(600)``; in an async job it blocks the event loop.
- ``cpu``: a pure-Python CPU loop that never yields.
- ``swallow``: catches its cancellation (``JobInterrupted`` / ``CancelledError``) and keeps working.
- ``thread``: starts a non-daemon thread that runs for 600 s, then returns.
- ``child``: starts ``sleep 600`` and returns without waiting.
- ``grandchild``: starts ``bash -c "sleep 600; echo done"`` (bash's own child outlives bash) and returns.
- ``handler``: installs its own SIGTERM handler that raises ``SystemExit(0)``, then sleeps.
- ``ignore_handler``: installs a SIGTERM handler that does nothing, then sleeps.
- ``holding_handler``: installs SIGTERM and SIGINT handlers that take their time (``holds.py``:
  each call waits for the test's go), then sleeps.
- ``raw_handler``: like ``handler``, through a reference to ``signal.signal`` taken at import time
  (so it really replaces jobframe's handler, as a library that kept one would).
- ``fault_handler``: ``faulthandler.register(SIGTERM)`` (``chain=False``: faulthandler's C handler
  takes the signal's place, dumps the stacks and calls nothing else), then sleeps.
- ``raw_fault_handler``: the same through a reference to ``faulthandler.register`` taken at import
  time, as a library that imported the name would.
- ``thread_signal``: waits on a ``threading.Event`` while a thread of its own receives SIGTERM
  (``HOSTILE_SIGNAL``: SIGINT twice) — a signal the kernel handed to a thread other than the main one.
- ``quick``: returns at once (for signals that land in teardown or the exit guard).
- ``worst``: everything that waits after a SIGTERM at once: starts a non-daemon thread and a
  ``sleep 600`` child, registers an ``atexit`` hook that hangs, logs ``app.ready``, then swallows
  its cancellation (with ``HOSTILE_CLOSE``, teardown's close hangs too).
"""

from __future__ import annotations

import asyncio
import atexit
import faulthandler
import os
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import holds
from dependency_injector import containers, providers
from library_shapes import AsyncLibraryJob, EndsItself, LibraryJob
from lifeapp import _delay, _exc_name, record  # the apps directory is the working directory
from pydantic import BaseModel, SecretStr
from stdlib_shapes import (
    AsyncFlushJob,
    BlockingFlushClient,
    BusyExecutorJob,
    StdlibJob,
    Stoppable,
    busy_executor,
)

import jobframe

log = jobframe.get_logger("hostile")

_raw_signal = signal.signal  # taken before any run: calling it really replaces a handler
_raw_fault_register = faulthandler.register  # likewise
holds.arm()

Shape = Literal[
    "sleep",
    "block",
    "cpu",
    "swallow",
    "thread",
    "child",
    "grandchild",
    "handler",
    "ignore_handler",
    "holding_handler",
    "raw_handler",
    "fault_handler",
    "raw_fault_handler",
    "thread_signal",
    "quick",
    "worst",
]


class Settings(jobframe.Settings):
    label: str = "unset"
    api_token: SecretStr | None = None


class ShapeParams(BaseModel):
    shape: Shape = "sleep"
    seconds: float = 600.0


def _close_mode(name: str) -> str:
    """``HOSTILE_CLOSE`` for the resource named by ``HOSTILE_CLOSE_WHICH`` (default: the first)."""
    which = os.environ.get("HOSTILE_CLOSE_WHICH", "1")
    return os.environ.get("HOSTILE_CLOSE", "") if name.endswith(which) else ""


def sync_resource(name: str) -> Iterator[str]:
    exc_type: type[BaseException] | None = None
    time.sleep(_delay("INIT"))
    try:  # opened inside the try: a signal right after it still reaches the close
        record(f"open {name}")
        yield name
    except BaseException as exc:
        exc_type = type(exc)
        raise
    finally:
        mode = _close_mode(name)
        if mode == "hang":
            time.sleep(60)
        elif mode == "stuck":
            signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
            time.sleep(60)
        elif mode == "wait":  # a close blocked on a lock while its own thread gets the signals
            signal_own_thread(0.2)
            threading.Event().wait(60)
        elif mode == "hold":
            holds.hold("closing")
        time.sleep(_delay("CLOSE"))
        record(f"close {name} {_exc_name(exc_type)}")
        if mode == "raise":
            raise RuntimeError(f"{name} refuses to close")


async def async_resource(name: str) -> AsyncIterator[str]:
    exc_type: type[BaseException] | None = None
    await asyncio.sleep(_delay("INIT"))
    try:  # opened inside the try: a signal right after it still reaches the close
        record(f"open {name}")
        yield name
    except BaseException as exc:
        exc_type = type(exc)
        raise
    finally:
        mode = _close_mode(name)
        if mode == "hang":
            await asyncio.sleep(60)
        await asyncio.sleep(_delay("CLOSE"))
        record(f"close {name} {_exc_name(exc_type)}")
        if mode == "raise":
            raise RuntimeError(f"{name} refuses to close")


def _spawn(shape: str) -> None:
    if shape == "thread":
        threading.Thread(target=time.sleep, args=(600,), name="hostile-thread").start()
    elif shape == "child":
        child = subprocess.Popen(["sleep", "600"])
        log.info("app.child", pid=child.pid)
    elif shape == "grandchild":
        child = subprocess.Popen(["bash", "-c", "sleep 600; echo done"])
        log.info("app.child", pid=child.pid)
    elif shape == "worst":
        threading.Thread(target=time.sleep, args=(600,), name="hostile-thread").start()
        child = subprocess.Popen(["sleep", "600"])
        atexit.register(time.sleep, 600)
        log.info("app.child", pid=child.pid)


def _on_term_exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _on_term_ignore(signum: int, frame: Any) -> None:
    log.info("app.own_handler_called")


def _install_own_handler(shape: str) -> None:
    if shape == "handler":
        signal.signal(signal.SIGTERM, _on_term_exit)
    elif shape == "raw_handler":
        _raw_signal(signal.SIGTERM, _on_term_exit)
    elif shape == "ignore_handler":
        signal.signal(signal.SIGTERM, _on_term_ignore)
    elif shape == "fault_handler":
        faulthandler.register(signal.SIGTERM)
    elif shape == "raw_fault_handler":
        _raw_fault_register(signal.SIGTERM)
    else:
        holds.install_own(shape)


def _cpu(seconds: float) -> int:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def signal_own_thread(delay: float) -> None:
    """After ``delay``, deliver ``HOSTILE_SIGNAL`` (default SIGTERM; ``SIGINT2``: SIGINT twice) to a
    thread that is not the main one."""

    def deliver() -> None:
        time.sleep(delay)
        which = os.environ.get("HOSTILE_SIGNAL", "SIGTERM")
        for sig in [signal.SIGINT, signal.SIGINT] if which == "SIGINT2" else [signal.SIGTERM]:
            signal.pthread_kill(threading.get_ident(), sig)
            time.sleep(0.1)

    threading.Thread(target=deliver, name="hostile-signaller", daemon=True).start()


def _start(params: ShapeParams) -> bool:
    """What every shape does first; ``True`` when the job is done right after."""
    _install_own_handler(params.shape)
    log.info("app.working", shape=params.shape, pid=os.getpid())
    _spawn(params.shape)
    return params.shape in ("thread", "child", "grandchild", "quick")


def _block_or_spin(params: ShapeParams) -> bool:
    """The blocking shapes' step (the same in sync and async code); ``False`` for the others."""
    if params.shape == "block":
        time.sleep(params.seconds)
    elif params.shape == "cpu":
        _cpu(params.seconds)
    elif params.shape == "thread_signal":
        signal_own_thread(0.2)
        threading.Event().wait(params.seconds)
    return params.shape in ("block", "cpu", "thread_signal")


class SyncShape:
    """A sync job of a given shape, holding three sync resources."""

    def __init__(self, **resources: Any) -> None:
        self.resources = resources

    def execute(self, params: ShapeParams) -> dict[str, Any]:
        if _start(params):
            return {"shape": params.shape}
        end = time.monotonic() + params.seconds
        ready = params.shape != "worst" and holds.stage() != "cancelling"
        while time.monotonic() < end:
            try:
                if not ready:  # said inside the try: a signal from now on is swallowed
                    log.info("app.ready")
                    ready = True
                if not _block_or_spin(params):
                    time.sleep(0.01)
            except jobframe.JobInterrupted:
                holds.hold("cancelling")
                if params.shape not in ("swallow", "worst"):
                    raise
                log.info("app.swallowed")
        return {"shape": params.shape}


class AsyncShape:
    """An async job of a given shape, holding two async resources and a sync one; ``block`` and
    ``cpu`` block its event loop."""

    def __init__(self, **resources: Any) -> None:
        self.resources = resources

    async def execute(self, params: ShapeParams) -> dict[str, Any]:
        if _start(params):
            return {"shape": params.shape}
        end = time.monotonic() + params.seconds
        while time.monotonic() < end:
            try:
                if not _block_or_spin(params):
                    await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if params.shape != "swallow":
                    raise
                log.info("app.swallowed")
        return {"shape": params.shape}


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    r1 = providers.Resource(sync_resource, "R1")
    r2 = providers.Resource(sync_resource, "R2")
    r3 = providers.Resource(sync_resource, "R3")
    a1 = providers.Resource(async_resource, "A1")
    a2 = providers.Resource(async_resource, "A2")

    sync_shape = providers.Factory(SyncShape, r1=r1, r2=r2, r3=r3)
    async_shape = providers.Factory(AsyncShape, a1=a1, a2=a2, r3=r3)

    executor = providers.Singleton(ThreadPoolExecutor, 2)  # never shut down: jobframe has to
    flush_client = providers.Singleton(BlockingFlushClient)  # closed by the safety net only
    stdlib_job = providers.Factory(StdlibJob, executor=executor, client=flush_client, r1=r1)
    busy_executor = providers.Resource(busy_executor)
    busy_executor_job = providers.Factory(BusyExecutorJob, executor=busy_executor)
    stoppable = providers.Singleton(Stoppable)
    async_flush_job = providers.Factory(AsyncFlushJob, client=flush_client, stoppable=stoppable)
    library_job = providers.Factory(LibraryJob, r1=r1, r2=r2)
    async_library_job = providers.Factory(AsyncLibraryJob, a1=a1, r2=r2)
    ends_itself = providers.Factory(EndsItself, r1=r1, r2=r2)
