"""The safety net: closeable objects still open after every resource was closed.

A ``providers.Singleton`` holding an ``httpx.Client``, a function resource that returned a client,
a generator resource without ``try/finally``: dependency-injector closes none of them. They are
found here after teardown, closed (bounded like any close) and reported as ``resource.unmanaged``,
so the leak is visible and fixable instead of a process that will not end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jobframe.logs import get_logger
from jobframe.teardown.closing import closer_of, is_closed

__all__ = ["Unmanaged", "find_unmanaged", "report_unmanaged"]

_log = get_logger("jobframe.teardown")


@dataclass(frozen=True)
class Unmanaged:
    name: str
    obj: Any
    close: Callable[[], Any]


def find_unmanaged(held: list[tuple[str, Any]], closed_values: list[tuple[str, Any]]) -> Iterator[Unmanaged]:
    """Closeable objects still open: held by Singletons or plain-function resources, or resource
    values whose own shutdown skipped them. Values of failed or abandoned closes are not among
    ``closed_values``: their ``close()`` may be what hangs or fails."""
    seen: set[int] = set()
    held_ids = {id(obj) for _, obj in held}
    for name, obj in [*held, *closed_values]:
        if id(obj) in seen or obj is None:
            continue
        seen.add(id(obj))
        close = closer_of(obj)
        state = is_closed(obj)
        if close is None or state is True:
            continue
        if state is None and id(obj) not in held_ids:
            continue  # cannot tell, and its resource's own shutdown already ran
        yield Unmanaged(name, obj, close)


def report_unmanaged(item: Unmanaged) -> None:
    _log.warning(
        "resource.unmanaged",
        provider=item.name,
        type=f"{type(item.obj).__module__}.{type(item.obj).__qualname__}",
        hint="provide closeable objects with providers.Resource so they are closed in order",
    )
