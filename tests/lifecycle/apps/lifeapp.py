"""A test app whose resources write every open and close to a record file.

Run from this directory: ``python -m jobframe --app lifeapp:Container --job-name Holder``.

The record file is ``$LIFECYCLE_RECORD`` (nothing is recorded when unset). Each line is
``open NAME`` or ``close NAME EXC`` (EXC: the exception type the resource saw in ``__exit__``,
``-`` for none), appended with ``O_APPEND`` and fsynced, so a test can read it after the process is
gone — even after a hard exit. Every resource is written the way an exception-safe resource must
be: an ``__enter__`` interrupted after it acquired something releases it itself, since neither
``with`` nor jobframe calls ``__exit__`` after a failed ``__enter__``.

``LIFECYCLE_INIT_DELAY`` / ``LIFECYCLE_CLOSE_DELAY`` (seconds) make every open / close take that
long, so signals can land during resource init and teardown.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from dependency_injector import containers, providers, resources
from pydantic import BaseModel, SecretStr

import jobframe

log = jobframe.get_logger("lifeapp")


def record(line: str) -> None:
    path = os.environ.get("LIFECYCLE_RECORD")
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _delay(kind: str) -> float:
    return float(os.environ.get(f"LIFECYCLE_{kind}_DELAY", "0") or 0)


def _exc_name(exc_type: type[BaseException] | None) -> str:
    return "-" if exc_type is None else exc_type.__name__


class Settings(jobframe.Settings):
    label: str = "unset"
    api_token: SecretStr | None = None  # the harness sets a canary here; it must never be printed


# -- sync resources -------------------------------------------------------------------------------


class Handle:
    """What a resource yields: its name, and whatever it was built from."""

    def __init__(self, name: str, dep: Any = None) -> None:
        self.name, self.dep = name, dep


def gen_resource(name: str, dep: Any = None) -> Iterator[Handle]:
    """A sync generator resource that reports the job's exception it is closed with."""
    exc_type: type[BaseException] | None = None
    try:
        time.sleep(_delay("INIT"))
        record(f"open {name}")
        yield Handle(name, dep)
    except BaseException as exc:
        exc_type = type(exc)
        raise
    finally:
        time.sleep(_delay("CLOSE"))
        record(f"close {name} {_exc_name(exc_type)}")


class CMResource:
    """A context-manager class resource."""

    def __init__(self, name: str, dep: Any = None, fail_close: bool = False, hang_close: float = 0.0) -> None:
        self.name, self.dep, self.fail_close, self.hang_close = name, dep, fail_close, hang_close

    def __enter__(self) -> CMResource:
        time.sleep(_delay("INIT"))
        try:
            record(f"open {self.name}")
        except BaseException as exc:  # interrupted after acquiring: __exit__ will not be called
            record(f"close {self.name} {type(exc).__name__}")
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if self.hang_close:
            time.sleep(self.hang_close)
        time.sleep(_delay("CLOSE"))
        record(f"close {self.name} {_exc_name(exc_type)}")
        if self.fail_close:
            raise RuntimeError(f"{self.name} refuses to close")


class DIResource(resources.Resource[Handle]):
    """A ``dependency_injector.resources.Resource`` subclass (its shutdown never sees the error)."""

    def init(self, name: str) -> Handle:
        time.sleep(_delay("INIT"))
        try:
            record(f"open {name}")
            return Handle(name)
        except BaseException as exc:  # interrupted after acquiring: shutdown will not be called
            record(f"close {name} {type(exc).__name__}")
            raise

    def shutdown(self, resource: Handle | None) -> None:
        time.sleep(_delay("CLOSE"))
        if resource is not None:
            record(f"close {resource.name} -")


class Wrapper:
    """A plain object built by a Factory around a resource: how B reaches A without a direct link."""

    def __init__(self, a: Any) -> None:
        self.a = a


class RecordingClient(httpx.Client):
    """An ``httpx.Client`` that records its close (provided by a plain Singleton: the safety net)."""

    def __init__(self) -> None:
        super().__init__(base_url="http://127.0.0.1:9")
        record("open http")

    def close(self) -> None:
        if not self.is_closed:
            record("close http -")
        super().close()


# -- async resources -----------------------------------------------------------------------------


async def agen_resource(name: str, dep: Any = None) -> AsyncIterator[Handle]:
    exc_type: type[BaseException] | None = None
    try:
        await asyncio.sleep(_delay("INIT"))
        record(f"open {name}")
        yield Handle(name, dep)
    except BaseException as exc:
        exc_type = type(exc)
        raise
    finally:
        await asyncio.sleep(_delay("CLOSE"))
        record(f"close {name} {_exc_name(exc_type)}")


class AsyncCMResource:
    def __init__(self, name: str, fail_close: bool = False, hang_close: float = 0.0) -> None:
        self.name, self.fail_close, self.hang_close = name, fail_close, hang_close

    async def __aenter__(self) -> AsyncCMResource:
        await asyncio.sleep(_delay("INIT"))
        try:
            record(f"open {self.name}")
        except BaseException as exc:  # interrupted after acquiring: __aexit__ will not be called
            record(f"close {self.name} {type(exc).__name__}")
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if self.hang_close:
            await asyncio.sleep(self.hang_close)
        await asyncio.sleep(_delay("CLOSE"))
        record(f"close {self.name} {_exc_name(exc_type)}")
        if self.fail_close:
            raise RuntimeError(f"{self.name} refuses to close")


class DIAsyncResource(resources.AsyncResource[Handle]):
    async def init(self, name: str) -> Handle:
        await asyncio.sleep(_delay("INIT"))
        try:
            record(f"open {name}")
            return Handle(name)
        except BaseException as exc:
            record(f"close {name} {type(exc).__name__}")
            raise

    async def shutdown(self, resource: Handle | None) -> None:
        await asyncio.sleep(_delay("CLOSE"))
        if resource is not None:
            record(f"close {resource.name} -")


# -- jobs ----------------------------------------------------------------------------------------


class WorkParams(BaseModel):
    seconds: float = 0.0
    fail: bool = False


def _work(seconds: float) -> None:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += sum(range(200))  # some Python work between sleeps, so signals land anywhere
        time.sleep(0.005)


class Holder:
    """Hold several sync resources (generator, context manager, DI Resource, one via a Factory)."""

    def __init__(self, **resources_: Any) -> None:
        self.resources = resources_

    def execute(self, params: WorkParams) -> dict[str, Any]:
        log.info("app.working", resources=sorted(self.resources), pid=os.getpid())
        _work(params.seconds)
        if params.fail:
            raise ValueError("job failed on purpose")
        return {"resources": sorted(self.resources)}


class AsyncHolder:
    """Hold async and sync resources from an async job."""

    def __init__(self, **resources_: Any) -> None:
        self.resources = resources_

    async def execute(self, params: WorkParams) -> dict[str, Any]:
        log.info("app.working", resources=sorted(self.resources), pid=os.getpid())
        end = time.monotonic() + params.seconds
        # many short awaits with work between them, so a cancellation can land anywhere
        while (left := end - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(left, 0.005))
        if params.fail:
            raise ValueError("job failed on purpose")
        return {"resources": sorted(self.resources)}


class FailingClose(Holder):
    """Hold sync resources, one of which fails to close."""


class HangingClose(Holder):
    """Hold sync resources, one of which hangs for 60 s in its close."""


class AsyncFailingClose(AsyncHolder):
    """Hold async resources, one of which fails to close."""


class AsyncHangingClose(AsyncHolder):
    """Hold async resources, one of which hangs for 60 s in its close."""


class ContextLocalHolder(Holder):
    """Hold sync resources, one of them context-local (``providers.ContextLocalResource``)."""


class AsyncContextLocalHolder(AsyncHolder):
    """Hold async resources, one of them context-local (``providers.ContextLocalResource``)."""


class LeakTimer:
    """Start a non-daemon 60 s timer and return (the seed bug: the interpreter would wait for it)."""

    def execute(self) -> str:
        timer = threading.Timer(60, lambda: None)
        timer.name = "leaky-timer"
        timer.start()
        log.info("app.working", leaked="leaky-timer")
        return "done"


class LeakChild:
    """Start a child process and never wait for it."""

    def execute(self) -> int:
        child = subprocess.Popen(["sleep", "60"])
        log.info("app.child", child_pid=child.pid)
        return child.pid


class UsesClient:
    """Use an httpx.Client that a plain Singleton provides (nobody registered it for shutdown)."""

    def __init__(self, client: httpx.Client, a: Any) -> None:
        self.client, self.a = client, a

    def execute(self) -> bool:
        log.info("app.working", client_open=not self.client.is_closed)
        return not self.client.is_closed


@jobframe.job(min_seconds=60)
class Reports:
    """Report progress and return a result (for --output and ARGO_PROGRESS_FILE)."""

    def __init__(self, run: jobframe.RunContext, a: Any) -> None:
        self.run, self.a = run, a

    def execute(self, params: WorkParams) -> dict[str, Any]:
        for i in range(1, 5):
            self.run.progress.update(i, 4)
        if params.fail:
            raise ValueError("job failed on purpose")
        return {"done": 4, "label": "ok"}


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    run = providers.Dependency(instance_of=jobframe.RunContext)

    # sync resources; B reaches A only through a Factory (no direct Resource -> Resource link)
    a = providers.Resource(gen_resource, "A")
    b = providers.Resource(gen_resource, "B", dep=providers.Factory(Wrapper, a=a))
    c = providers.Resource(CMResource, "C")
    d = providers.Resource(DIResource, "D")
    e = providers.Resource(gen_resource, "E", dep=c)
    bad = providers.Resource(CMResource, "BAD", fail_close=True)
    hang = providers.Resource(CMResource, "HANG", hang_close=60.0)
    client = providers.Singleton(RecordingClient)
    cl = providers.ContextLocalResource(gen_resource, "CL", dep=a)

    # async resources
    aa = providers.Resource(agen_resource, "AA")
    ab = providers.Resource(AsyncCMResource, "AB")
    ac = providers.Resource(DIAsyncResource, "AC")
    abad = providers.Resource(AsyncCMResource, "ABAD", fail_close=True)
    ahang = providers.Resource(AsyncCMResource, "AHANG", hang_close=60.0)
    acl = providers.ContextLocalResource(agen_resource, "ACL")

    holder = providers.Factory(Holder, b=b, c=c, d=d, e=e)
    failing_close = providers.Factory(FailingClose, c=c, bad=bad, d=d)
    hanging_close = providers.Factory(HangingClose, hang=hang, c=c, d=d)
    async_holder = providers.Factory(AsyncHolder, aa=aa, ab=ab, ac=ac, c=c)
    async_failing_close = providers.Factory(AsyncFailingClose, aa=aa, abad=abad, ac=ac)
    async_hanging_close = providers.Factory(AsyncHangingClose, ahang=ahang, aa=aa, c=c)
    context_local_holder = providers.Factory(ContextLocalHolder, cl=cl, c=c)
    async_context_local_holder = providers.Factory(AsyncContextLocalHolder, acl=acl, aa=aa)
    leak_timer = providers.Factory(LeakTimer)
    leak_child = providers.Factory(LeakChild)
    uses_client = providers.Factory(UsesClient, client=client, a=a)
    reports = providers.Factory(Reports, run=run, a=a)
