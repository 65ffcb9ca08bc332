"""Lint rules on fields Argo v4 no longer has: a manifest that still says them validates (Argo's
schema allows unknown fields), but the v4 controller never reads them.

Removed in v4.0 after their deprecation in v3.6 (``docs/upgrading.md``; gone from
``pkg/apis/workflow/v1alpha1/workflow_types.go``): ``synchronization.semaphore`` and
``synchronization.mutex`` (the lists ``semaphores`` and ``mutexes`` replace them) and the
workflow's ``podPriority``. A semaphore written the old way limits nothing on v4: every pod runs
at once, past the rate limit the semaphore was meant to share. CronWorkflow's ``schedule`` went
too; the schema already requires ``schedules``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jobframe.argo._rules import Problem
from jobframe.argo.manifests import Document, Path_

__all__ = ["removed_field_problems"]

_SYNC = {"semaphore": "semaphores", "mutex": "mutexes"}


def _sync_problems(where: Path_, holder: Any) -> Iterator[Problem]:
    """The old singular fields in the ``synchronization`` of a workflow spec or a template."""
    sync = holder.get("synchronization") if isinstance(holder, Mapping) else None
    if not isinstance(sync, Mapping):
        return
    for old, new in _SYNC.items():
        if old in sync:
            yield Problem(
                (*where, "synchronization", old),
                f"synchronization.{old} was removed in Argo v4: its controller ignores it, so this "
                f"{old} holds nothing back (v3.7 still reads it)",
                f"write it as a list, which v3.6 and later read: {new}: [{{...}}]",
            )


def removed_field_problems(document: Document) -> Iterator[Problem]:
    """Every field of the document that an Argo v4 controller silently ignores."""
    spec = document.workflow_spec
    at = document.spec_path
    if "podPriority" in spec:
        yield Problem(
            (*at, "podPriority"),
            "podPriority was removed in Argo v4: its controller ignores it",
            "use podPriorityClassName with a PriorityClass",
        )
    yield from _sync_problems(at, spec)
    yield from _sync_problems((*at, "templateDefaults"), spec.get("templateDefaults"))
    for index, template in enumerate(spec.get("templates") or []):
        yield from _sync_problems((*at, "templates", index), template)
