"""The cyclic garbage collector during startup: paused while modules load, then told to skip them.

Loading modules allocates tens of thousands of objects that live as long as the process (modules,
classes, functions, pydantic schemas), and almost no cyclic garbage. The collector, meanwhile,
runs by allocation count: while the imports of a job (its dependencies, jobframe, the app) are
under way it runs its young collections a hundred times and, once past its threshold, a full
collection that walks every one of those objects — about a tenth of a small job's start in CPU.

So ``python -m jobframe`` pauses it until the app and what the options ask for (the Pushgateway's
client, tracing) are loaded, then moves what the imports left
(:func:`gc.freeze`: the permanent generation) out of every later collection, and turns it back on
before anything of the job is built: the job's own objects are collected as always, and every
later full collection is cheaper by the size of the imports. Objects frozen here are never
collected (the garbage cycles the imports left stay: ~270 objects, ~30 KiB for the default app)
and are not listed by :func:`gc.get_objects`. The :mod:`gc` documentation gives the same pattern
(disable early, freeze once loaded) for processes that fork.
"""

from __future__ import annotations

import gc

__all__ = ["pause_collector", "resume_collector"]

_paused = False


def pause_collector() -> None:
    """Stop automatic collections until :func:`resume_collector` (no-op if already off)."""
    global _paused  # noqa: PLW0603 - one switch for the process, set before anything else runs
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collector() -> None:
    """Freeze what was loaded so far and turn the collector back on, if :func:`pause_collector` paused it."""
    global _paused  # noqa: PLW0603
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
