"""Closing what a run opened: instrumentation records it, the registry closes it, newest first,
each close bounded; the safety net finds closeable objects nobody registered."""

from jobframe._teardown.registry import ResourceRegistry

__all__ = ["ResourceRegistry"]
