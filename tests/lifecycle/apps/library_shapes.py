"""What jobs built on the standard library leave behind when their work ends, for the matrix.

``--param shape=...`` sets one of these up, logs ``app.working``, then works until cancelled (or
for ``seconds``, then returns — the leftover still there):

- ``process_pool_pending``: a ``ProcessPoolExecutor`` (``HOSTILE_START``) whose worker runs a task
  that never ends, two more queued, never shut down (plain Python waits for them at exit, for ever);
- ``child_ignoring_sigterm``: a non-daemon ``multiprocessing.Process`` that ignores SIGTERM and
  SIGINT (plain Python joins it at exit, for ever);
- ``daemon_child``: a daemonic ``Process`` left running (multiprocessing ends it at exit);
- ``grandchild``: a ``Process`` that forks a grandchild ignoring SIGTERM and returns (the
  grandchild is re-parented);
- ``daemonized``: the same with the classic double fork and ``setsid()``: the grandchild leaves
  the job's session (so its pid is recorded, ``pid N``, for the check);
- ``thread_pool_pending``: a ``ThreadPoolExecutor`` whose worker runs a task that never ends, with
  more queued (plain Python joins it at exit, for ever);
- ``thread_on_socket``: a non-daemon thread blocked in ``recv`` on a socket nobody writes to;
- ``executor_thread`` (async): ``loop.run_in_executor(None, time.sleep, 600)`` never awaited;
- ``subprocess`` (async): ``asyncio.create_subprocess_exec("sleep", "600")`` never waited for;
- ``pending_task`` (async): a task that never ends, never awaited;
- ``log_handlers``: a ``QueueListener`` started and never stopped, a ``SocketHandler`` and a
  ``SysLogHandler`` (to sockets of the job's own that never read) on a library's logger;
- ``fault_handler``: ``faulthandler.register(SIGTERM)`` (unchained: its C handler takes the
  interpreter's place);
- ``atexit_exit``: an ``atexit`` hook that calls ``sys.exit(5)`` (the exit code stays the job's);
- ``closes_stdout``: ``sys.stdout.close()`` (descriptor 1 stays open);
- ``closes_stdout_fd``: ``os.close(1)``: the descriptor itself;
- ``basic_config``: ``logging.basicConfig(level=WARNING, force=True)``, as a script would;
- ``dict_config``: ``logging.config.dictConfig`` with a root logger of its own at WARNING (and, as
  by default, every logger that exists disabled);
- ``logging_disabled``: ``logging.disable(CRITICAL)``, as a library quieting everything would;
- ``raising_filter``: a handler of its own on the root logger, with a filter written for the app's
  own records, reading an attribute only they carry (``record.request_id``): it raises on jobframe's;
- ``structlog_config``: ``structlog.configure`` with processors and a logger factory of its own
  (key=value lines printed to stdout), as a job using structlog its own way would;
- ``regex``: a regular expression that backtracks for ever: C code that holds the GIL (so no other
  thread runs) and only checks for signals.

``EndsItself`` ends its run the ways Python code can: ``sys.exit(VALUE)`` (``value``, JSON) or
``raise KeyboardInterrupt`` (``value`` ``"ctrl-c"``).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import faulthandler
import json
import logging
import logging.config
import logging.handlers
import multiprocessing
import os
import queue
import re
import signal
import socket
import sys
import threading
import time
from typing import Any, Literal

from lifeapp import record  # the apps directory is the working directory
from pydantic import BaseModel

import jobframe

log = jobframe.get_logger("library_shapes")

LibraryShape = Literal[
    "process_pool_pending",
    "child_ignoring_sigterm",
    "daemon_child",
    "grandchild",
    "daemonized",
    "thread_pool_pending",
    "thread_on_socket",
    "executor_thread",
    "subprocess",
    "pending_task",
    "log_handlers",
    "fault_handler",
    "atexit_exit",
    "closes_stdout",
    "closes_stdout_fd",
    "basic_config",
    "dict_config",
    "logging_disabled",
    "structlog_config",
    "raising_filter",
    "regex",
]

_LEFT: list[Any] = []  # what the job leaves referenced, as a module global of a library would


class LibraryParams(BaseModel):
    shape: LibraryShape
    seconds: float = 600.0


def _context() -> Any:
    return multiprocessing.get_context(os.environ.get("HOSTILE_START", "fork"))


def _ignore_sigterm_forever(ready: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    record(f"pid {os.getpid()}")
    ready.set()
    time.sleep(10**6)


def _sleep_forever(ready: Any) -> None:
    ready.set()
    time.sleep(10**6)


def _fork_grandchild(ready: Any, leave_session: bool) -> None:
    pid = os.fork()
    if pid == 0:
        if leave_session:
            os.setsid()
            if os.fork():
                os._exit(0)
        _ignore_sigterm_forever(ready)
        os._exit(0)
    if leave_session:
        os.waitpid(pid, 0)


def _child(target: Any, *args: Any, daemon: bool = False) -> None:
    context = _context()
    ready = context.Event()
    child = context.Process(target=target, args=(ready, *args), daemon=daemon)
    child.start()
    if not ready.wait(60):
        raise RuntimeError(f"{target.__name__} never got going")
    _LEFT.append(child)


def _process_pool_pending() -> None:
    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=_context())
    _LEFT.extend([pool, [pool.submit(time.sleep, 600) for _ in range(3)]])
    pool.submit(os.getpid)  # queued behind the endless ones: the worker exists once this is sent
    while not pool._processes:
        time.sleep(0.01)


def _thread_pool_pending() -> None:
    pool = concurrent.futures.ThreadPoolExecutor(1)
    running = threading.Event()
    pool.submit(lambda: (running.set(), time.sleep(600)))
    _LEFT.extend([pool, [pool.submit(time.sleep, 600) for _ in range(3)]])
    running.wait(10)


def _thread_on_socket() -> None:
    mine, theirs = socket.socketpair()
    _LEFT.append((mine, theirs))
    threading.Thread(target=mine.recv, args=(16,), name="library-recv").start()


def _log_handlers() -> None:
    lib = logging.getLogger("library_shapes.lib")
    records: queue.Queue[Any] = queue.Queue()
    listener = logging.handlers.QueueListener(records, logging.StreamHandler(sys.stderr))
    listener.start()
    lib.addHandler(logging.handlers.QueueHandler(records))
    collector = socket.create_server(("127.0.0.1", 0))  # accepts into its backlog, never reads
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    _LEFT.extend([listener, collector, udp])
    lib.addHandler(logging.handlers.SocketHandler("127.0.0.1", collector.getsockname()[1]))
    lib.addHandler(logging.handlers.SysLogHandler(address=udp.getsockname()))
    for n in range(3):
        lib.warning("library line %d", n)


def _set_up(shape: str) -> None:
    if shape == "process_pool_pending":
        _process_pool_pending()
    elif shape == "child_ignoring_sigterm":
        _child(_ignore_sigterm_forever)
    elif shape == "daemon_child":
        _child(_sleep_forever, daemon=True)
    elif shape in ("grandchild", "daemonized"):
        _child(_fork_grandchild, shape == "daemonized")
    elif shape == "thread_pool_pending":
        _thread_pool_pending()
    elif shape == "thread_on_socket":
        _thread_on_socket()
    elif shape == "log_handlers":
        _log_handlers()
    elif shape == "fault_handler":
        faulthandler.register(signal.SIGTERM)
    elif shape == "atexit_exit":
        atexit.register(sys.exit, 5)
    elif shape == "basic_config":
        logging.basicConfig(level=logging.WARNING, force=True)
    elif shape == "dict_config":
        logging.config.dictConfig(
            {
                "version": 1,
                "handlers": {"err": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
                "root": {"level": "WARNING", "handlers": ["err"]},
            }
        )
    elif shape == "logging_disabled":
        logging.disable(logging.CRITICAL)
    elif shape == "structlog_config":
        import structlog  # noqa: PLC0415 - only this shape

        structlog.configure(
            processors=[structlog.processors.KeyValueRenderer()],
            logger_factory=structlog.PrintLoggerFactory(),
        )
    elif shape == "raising_filter":
        handler = logging.StreamHandler(sys.stderr)
        # written for the app's own records; on any other record the attribute is missing
        handler.addFilter(lambda record: record.name == "library_shapes" or record.request_id)  # type: ignore[attr-defined]
        logging.getLogger().addHandler(handler)
    elif shape == "closes_stdout":
        sys.stdout.close()
    elif shape == "closes_stdout_fd":
        sys.stdout.flush()
        os.close(1)


async def _set_up_async(shape: str) -> None:
    loop = asyncio.get_running_loop()
    if shape == "executor_thread":
        _LEFT.append(loop.run_in_executor(None, time.sleep, 600))
    elif shape == "subprocess":
        child = await asyncio.create_subprocess_exec("sleep", "600")
        _LEFT.append(child)
    elif shape == "pending_task":
        _LEFT.append(asyncio.create_task(asyncio.sleep(10**6)))
    else:
        _set_up(shape)


class LibraryJob:
    """A sync job that leaves its shape behind, then works for ``seconds``."""

    def __init__(self, **resources: Any) -> None:
        self.resources = resources

    def execute(self, params: LibraryParams) -> dict[str, Any]:
        _set_up(params.shape)
        log.info("app.working", shape=params.shape, pid=os.getpid())
        if params.shape == "regex":
            re.match(r"(a+)+$", "a" * 64 + "b")
        end = time.monotonic() + params.seconds
        while time.monotonic() < end:
            time.sleep(0.01)
        return {"shape": params.shape}


class AsyncLibraryJob:
    """An async job that leaves its shape behind, then works for ``seconds``."""

    def __init__(self, **resources: Any) -> None:
        self.resources = resources

    async def execute(self, params: LibraryParams) -> dict[str, Any]:
        await _set_up_async(params.shape)
        log.info("app.working", shape=params.shape, pid=os.getpid())
        await asyncio.sleep(params.seconds)
        return {"shape": params.shape}


class EndingParams(BaseModel):
    value: str


class EndsItself:
    """A job that ends itself: ``sys.exit(value)``, or ``KeyboardInterrupt`` for ``ctrl-c``."""

    def __init__(self, **resources: Any) -> None:
        self.resources = resources

    def execute(self, params: EndingParams) -> None:
        log.info("app.working", pid=os.getpid())
        if params.value == "ctrl-c":
            raise KeyboardInterrupt
        sys.exit(json.loads(params.value))
