"""Resources a test opens itself (``jobframe_container.repo()``), closed the way a run closes them.

The ``jobframe_container`` fixture records, for the whole test, every resource opened through the
container outside a run — with the same :class:`~jobframe.teardown.ResourceRegistry` a run uses,
underneath each run's own — and closes what is still open at the end, newest first, each close in
its own ``try`` and logged. A test that closes them itself (``provider.shutdown()``) closes them
through the same registry.
"""

from __future__ import annotations

from dependency_injector import containers

from jobframe.teardown import ResourceRegistry

__all__ = ["TestScope"]

CLOSE_BUDGET_S = 5.0


class TestScope:
    """The resources one test opens through one container outside its runs."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, container: containers.Container) -> None:
        self.registry = ResourceRegistry()
        self.registry.instrument(container)

    def close(self) -> list[str]:
        """Close what the test left open; returns those resources' names (newest first)."""
        left_open = self.registry.pending_names()
        self.registry.close_all(None, budget=CLOSE_BUDGET_S)
        self.registry.release()
        return left_open
