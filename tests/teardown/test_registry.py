"""The supervisor's takeover never closes a resource whose ``__enter__`` is still running in the
stuck thread: a generator cannot be resumed while it executes ("generator already executing",
seen with a deadline already past, when the job is abandoned at once, mid-init)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from dependency_injector import containers, providers

from jobframe._teardown.registry import ResourceRegistry


def test_a_resource_still_entering_is_abandoned_not_closed_twice_at_once() -> None:
    entered, release = threading.Event(), threading.Event()
    log: list[str] = []

    def resource() -> Iterator[str]:
        entered.set()
        release.wait(10)  # the init the stuck thread is in when the supervisor takes over
        log.append("open")
        try:
            yield "value"
        finally:
            log.append("close")

    class Container(containers.DeclarativeContainer):
        slow = providers.Resource(resource)

    container = Container()
    registry = ResourceRegistry()
    registry.instrument(container)
    stuck = threading.Thread(target=container.slow, daemon=True)
    stuck.start()
    assert entered.wait(5)
    try:
        registry.take_over(None, budget=1.0)
    finally:
        release.set()
        stuck.join(5)
    (entry,) = registry.entries
    assert entry.outcome == "abandoned", f"{entry.outcome}: closed while its generator was executing"
    assert registry.closed_names == [] and log == ["open"]
    pending = [e.name for e in registry.entries if e.entered and not e.closed]
    assert pending == []  # dealt with: named by teardown.timeout
