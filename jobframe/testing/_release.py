"""Resources a test opens itself (``jobframe_container.repo()``), closed the way a run closes them.

The ``jobframe_container`` fixture records, for the whole test, every resource opened through the
container outside a run — with the same :class:`~jobframe._teardown.ResourceRegistry` a run uses,
underneath each run's own, noting where each was opened — and at the end closes what is still
open, newest first, each close in its own ``try`` and logged. A test that closes them itself
(``provider.shutdown()``) closes them through the same registry, and is not reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dependency_injector import containers

from jobframe._teardown import ResourceRegistry
from jobframe._teardown.instrument import Entry
from jobframe.testing._opened import where_opened

__all__ = ["TestScope"]

CLOSE_BUDGET_S = 5.0


@dataclass
class _NotingRegistry(ResourceRegistry):
    """A registry that remembers where each resource was opened, for the leak report."""

    opened_at: dict[int, str] = field(default_factory=dict)

    def add(self, name: str, manager: Any, *, is_async: bool, provider: Any = None) -> Entry:
        entry = super().add(name, manager, is_async=is_async, provider=provider)
        self.opened_at[id(entry)] = where_opened()
        return entry


class TestScope:
    """The resources one test opens through one container outside its runs."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, container: containers.Container) -> None:
        self.registry = _NotingRegistry()
        self.registry.instrument(container)

    def close(self) -> list[str]:
        """Close what the test left open; returns ``'name' opened at <where>`` for each, newest first."""
        registry = self.registry
        left_open = [
            f"{entry.name!r} opened at {registry.opened_at.get(id(entry), 'an unknown place')}, "
            f"and the test never closed it (jobframe_container.{entry.name}.shutdown())"
            for entry in reversed(registry.entries)
            if entry.entered and not entry.closed
        ]
        registry.close_all(None, budget=CLOSE_BUDGET_S)
        registry.release()
        return left_open
