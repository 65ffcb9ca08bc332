"""The safety net: closeable objects still open after every resource was closed.

A ``providers.Singleton`` holding an ``httpx.Client``, a function resource that returned a client,
a generator resource without ``try/finally``: dependency-injector closes none of them. They are
found here after teardown, closed (bounded like any close) and reported as ``resource.unmanaged``,
so the leak is visible and fixable instead of a process that will not end.

Only ``close()`` / ``aclose()`` are called on any object. A ``shutdown()``, ``stop()`` or
``dispose()`` is called only on the types of :data:`KNOWN`, an explicit table by qualified class
name (no import of those libraries needed) — because the same name can mean something else
entirely: ``redis.Redis.shutdown()`` shuts the Redis *server* down. Any other object with such a
method and no ``close()`` is named (``resource.unmanaged``, ``action: "not closed"``) and left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from jobframe._teardown.closing import closer_of, is_closed
from jobframe._value import Value
from jobframe.logs import get_logger

__all__ = ["KNOWN", "Known", "Unmanaged", "find_unmanaged", "known_of", "report_unmanaged"]

_log = get_logger("jobframe.teardown")

ENDERS = ("shutdown", "stop", "dispose")
"""Methods that end an object on its owner's behalf, called only for the types of :data:`KNOWN`."""


class Known(Value):
    """How the safety net ends one known type."""

    __slots__ = ("method", "kwargs", "same_thread", "running_attr", "note")  # noqa: RUF023 - the constructor's order
    method: str | None
    """What is called (with no arguments, unless ``kwargs``); ``None``: never called (named only)."""
    kwargs: tuple[tuple[str, Any], ...]
    same_thread: bool
    """The close must run in the thread that runs teardown (not one that can be abandoned)."""
    running_attr: str | None
    """An attribute that is ``False`` when the object was never started or already ended."""
    note: str

    def __init__(
        self,
        method: str | None,
        kwargs: tuple[tuple[str, Any], ...] = (),
        same_thread: bool = False,
        running_attr: str | None = None,
        note: str = "",
    ) -> None:
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "kwargs", kwargs)
        object.__setattr__(self, "same_thread", same_thread)
        object.__setattr__(self, "running_attr", running_attr)
        object.__setattr__(self, "note", note)


KNOWN: dict[str, Known] = {
    "concurrent.futures.thread.ThreadPoolExecutor": Known(
        "shutdown", note="waits for the submitted tasks, like `with executor:`"
    ),
    "concurrent.futures.process.ProcessPoolExecutor": Known("shutdown", note="waits for the submitted tasks"),
    "opentelemetry.sdk.trace.TracerProvider": Known("shutdown", note="flushes and ends its span processors"),
    "opentelemetry.sdk.metrics._internal.MeterProvider": Known("shutdown", note="flushes its metric readers"),
    "opentelemetry.sdk._logs._internal.LoggerProvider": Known("shutdown", note="flushes its log processors"),
    "sqlalchemy.engine.base.Engine": Known("dispose", note="closes the pool's connections"),
    "sqlalchemy.ext.asyncio.engine.AsyncEngine": Known("dispose", note="closes the pool's connections"),
    "apscheduler.schedulers.base.BaseScheduler": Known(
        "shutdown", running_attr="running", note="waits for running jobs; not called if never started"
    ),
    "grpc._server._Server": Known("stop", kwargs=(("grace", None),), note="aborts the RPCs in flight"),
    "grpc.aio._server.Server": Known("stop", kwargs=(("grace", None),), note="aborts the RPCs in flight"),
    "cimpl.Producer": Known("flush", note="confluent_kafka.Producer: delivers what is queued; blocks in C"),
    "redis.client.Redis": Known("close", note="shutdown() would shut the Redis server down: never called"),
    "redis.asyncio.client.Redis": Known(
        "aclose", note="shutdown() would shut the Redis server down: never called"
    ),
    "sqlite3.Connection": Known("close", same_thread=True, note="usable only in the thread that made it"),
}
"""Known types and how the safety net ends them, by qualified class name (subclasses included)."""


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def known_of(obj: Any) -> Known | None:
    """The :data:`KNOWN` entry for ``obj``'s class or its nearest base class listed there."""
    for cls in type(obj).__mro__:
        known = KNOWN.get(_qualified(cls))
        if known is not None:
            return known
    return None


class Unmanaged(Value):
    __slots__ = ("name", "obj", "close", "method", "same_thread")  # noqa: RUF023 - the constructor's order
    name: str
    obj: Any
    close: Callable[[], Any] | None
    """``None``: nothing known to be safe to call; the object is only named."""
    method: str
    same_thread: bool

    def __init__(
        self,
        name: str,
        obj: Any,
        close: Callable[[], Any] | None,
        method: str = "close",
        same_thread: bool = False,
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "obj", obj)
        object.__setattr__(self, "close", close)
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "same_thread", same_thread)

    @property
    def type_name(self) -> str:
        return _qualified(type(self.obj))


def _ender(obj: Any) -> Unmanaged | None:
    """How to end ``obj`` (``name`` left empty), or ``None`` when there is nothing to end."""
    known = known_of(obj)
    if known is not None:
        if known.method is None:
            return Unmanaged("", obj, None, "-")
        if known.running_attr is not None and getattr(obj, known.running_attr, True) is False:
            return None
        method = getattr(obj, known.method, None)
        if not callable(method):
            return None
        kwargs = dict(known.kwargs)
        call = (lambda: method(**kwargs)) if kwargs else method
        return Unmanaged("", obj, call, known.method, known.same_thread)
    close = closer_of(obj)
    if close is not None:
        return Unmanaged("", obj, close, close.__name__)
    enders = [name for name in ENDERS if callable(getattr(obj, name, None))]
    return Unmanaged("", obj, None, "/".join(enders)) if enders else None


def find_unmanaged(held: list[tuple[str, Any]], closed_values: list[tuple[str, Any]]) -> Iterator[Unmanaged]:
    """Objects still open: held by Singletons or plain-function resources, or resource values whose
    own shutdown skipped them. Values of failed or abandoned closes are not among ``closed_values``:
    their ``close()`` may be what hangs or fails. Objects with only an unknown ``shutdown()`` /
    ``stop()`` / ``dispose()`` come with ``close=None``: to be named, not called."""
    seen: set[int] = set()
    held_ids = {id(obj) for _, obj in held}
    for name, obj in [*held, *closed_values]:
        if id(obj) in seen or obj is None or isinstance(obj, type):
            continue
        seen.add(id(obj))
        ender = _ender(obj)
        if ender is None:
            continue
        state = is_closed(obj)
        if state is True:
            continue
        if id(obj) not in held_ids and (state is None or ender.close is None):
            continue  # cannot tell, and its resource's own shutdown already ran
        yield Unmanaged(name, obj, ender.close, ender.method, ender.same_thread)


def report_unmanaged(item: Unmanaged) -> None:
    if item.close is None:
        _log.warning(
            "resource.unmanaged",
            provider=item.name,
            type=item.type_name,
            action="not closed",
            methods=item.method,
            hint="provide it with providers.Resource that ends it (docs/lifecycle.md: the safety net); "
            "jobframe calls shutdown()/stop()/dispose() only on types it knows to be safe",
        )
        return
    _log.warning(
        "resource.unmanaged",
        provider=item.name,
        type=item.type_name,
        action=f"closed with {item.method}()",
        hint="provide closeable objects with providers.Resource so they are closed in order",
    )
