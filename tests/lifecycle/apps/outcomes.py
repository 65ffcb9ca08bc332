"""Jobs whose outcome is awkward to report: a close that raises a ``BaseException`` (sync and
async resources, ``CLOSE_RAISES``: ``KeyboardInterrupt``, ``SystemExit:N``, ``base`` — one of the
app's own), an init that does (``INIT_RAISES``, the same values), a task the job started that
does (``TASK_RAISES``), a fork server dead before the exit, and a result whose ``repr``
raises. Each resource records its close
($LIFECYCLE_RECORD), so a test sees what was closed."""

from __future__ import annotations

import asyncio
import multiprocessing.forkserver
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from dependency_injector import containers, providers
from lifeapp import record
from pydantic import SecretStr

import jobframe


class Settings(jobframe.Settings):
    label: str = "unset"  # what the lifecycle apps' profiles set
    api_token: SecretStr | None = None


class OwnBase(BaseException):
    """A library's own ``BaseException`` (neither ``Exception`` nor a cancellation)."""


def _raise(when: str = "CLOSE") -> None:
    what = os.environ.get(f"{when}_RAISES", "")
    if what == "KeyboardInterrupt":
        raise KeyboardInterrupt
    if what.startswith("SystemExit:"):
        code = what.split(":", 1)[1]  # "3", or "0.0": not an int, so a failure (Python exits 1)
        raise SystemExit(int(code) if code.lstrip("-").isdigit() else float(code))
    if what == "base":
        raise OwnBase("own")


def first() -> Iterator[str]:
    try:
        yield "first"
    finally:
        record("close first")


def raising() -> Iterator[str]:
    _raise("INIT")
    yield "raising"
    record("close raising")
    _raise()


async def araising() -> AsyncIterator[str]:
    _raise("INIT")
    yield "raising"
    record("close raising")
    _raise()


class CloseRaises:
    """Succeeds; its newest resource's close raises."""

    def __init__(self, first: str, raising: str) -> None:
        self.used = (first, raising)

    def execute(self) -> dict[str, str]:
        return {"used": "+".join(self.used)}


class AsyncCloseRaises(CloseRaises):
    """The same, async, with an async resource."""

    async def execute(self) -> dict[str, str]:  # type: ignore[override]
        return {"used": "+".join(self.used)}


class TaskEndsTheJob:
    """Async: starts a task that raises ``TASK_RAISES`` (as ``CLOSE_RAISES``), then waits long."""

    def __init__(self, first: str) -> None:
        self.first = first

    async def execute(self) -> dict[str, str]:
        async def side() -> None:
            await asyncio.sleep(0)
            _raise("TASK")

        self.side = asyncio.ensure_future(side())
        await asyncio.sleep(600)
        return {"outlived": "the exit"}


def _square(x: int) -> int:
    return x * x


class ForkServerGone:
    """Uses a ``forkserver`` pool, then the fork server dies of a SIGTERM (as of Argo's, sent to
    the whole group) and is a zombie before the job returns: the exit guard reaps it first."""

    def execute(self) -> dict[str, int]:
        with multiprocessing.get_context("forkserver").Pool(1) as pool:
            total = sum(pool.map(_square, range(4)))
        pid = multiprocessing.forkserver._forkserver._forkserver_pid
        os.kill(pid, signal.SIGTERM)
        while Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z":
            time.sleep(0.01)  # nothing to wait on: a zombie sends no event to its parent's threads
        return {"total": total}


class _Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class UnprintableResult:
    """Succeeds, returning a result one of whose values' ``repr`` raises."""

    def __init__(self, first: str) -> None:
        self.first = first

    def execute(self) -> dict[str, object]:
        return {"count": 3, "value": _Unprintable(), "items": ["a", _Unprintable()], "kept": "yes"}


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    run = providers.Dependency(instance_of=jobframe.RunContext)

    first = providers.Resource(first)
    close_raises = providers.Factory(CloseRaises, first=first, raising=providers.Resource(raising))
    async_close_raises = providers.Factory(
        AsyncCloseRaises, first=first, raising=providers.Resource(araising)
    )
    unprintable_result = providers.Factory(UnprintableResult, first=first)
    task_ends_the_job = providers.Factory(TaskEndsTheJob, first=first)
    fork_server_gone = providers.Factory(ForkServerGone)
