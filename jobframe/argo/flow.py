"""Which templates of a workflow run only as exit handlers.

The controller runs an exit hook (the workflow's ``onExit`` or ``hooks.exit``, a step's or task's
``onExit`` or ``hooks.exit``) with ``onExitTemplate`` set, and passes the flag down through the
steps and DAG templates it calls (``runOnExitNode`` in ``workflow/controller/exit_handler.go``,
``steps.go``, ``dag.go``). Such a pod gets neither the workflow's deadline in ``ARGO_DEADLINE``
nor its clamp on ``activeDeadlineSeconds`` (``getDeadline`` and the pod build in
``workflowpod.go``): the workflow's ``activeDeadlineSeconds`` cannot cut its attempts short.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["exit_only"]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _hooks(owner: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``(templates run in the flow, templates run as exit hooks)`` by the hooks of ``owner``."""
    flow: list[str] = []
    exits: list[str] = []
    if isinstance(owner.get("onExit"), str):
        exits.append(owner["onExit"])
    hooks = owner.get("hooks")
    for key, hook in hooks.items() if isinstance(hooks, Mapping) else ():
        if isinstance(hook, Mapping) and isinstance(hook.get("template"), str):
            (exits if key == "exit" else flow).append(hook["template"])
    return flow, exits


def _calls(template: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``(templates a steps or DAG template runs in its flow, templates it runs as exit hooks)``."""
    steps = template.get("steps")
    entries = [s for group in _list(steps) if isinstance(group, list) for s in group]
    dag = template.get("dag")
    tasks = dag.get("tasks") if isinstance(dag, Mapping) else None
    entries += _list(tasks)
    flow: list[str] = []
    exits: list[str] = []
    for entry in (e for e in entries if isinstance(e, Mapping)):
        if isinstance(entry.get("template"), str):
            flow.append(entry["template"])
        hooked = _hooks(entry)
        flow += hooked[0]
        exits += hooked[1]
    return flow, exits


def _reach(roots: Iterable[str], templates: Mapping[str, Mapping[str, Any]], *, exits: bool) -> set[str]:
    """Every template reached from ``roots`` through the flow (and through exit hooks too, with
    ``exits``: inside an exit handler, everything runs as one)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in templates:
            continue
        seen.add(name)
        flow, hooked = _calls(templates[name])
        stack += flow + (hooked if exits else [])
    return seen


def exit_only(spec: Mapping[str, Any]) -> set[str]:
    """Names of the templates of workflow ``spec`` that only ever run inside an exit handler;
    nothing without an ``entrypoint`` (a library of templates: any of them may be a step)."""
    listed = [t for t in _list(spec.get("templates")) if isinstance(t, Mapping)]
    templates = {t["name"]: t for t in listed if isinstance(t.get("name"), str)}
    entrypoint = spec.get("entrypoint")
    if not isinstance(entrypoint, str):
        return set()
    flow_hooks, exit_hooks = _hooks(spec)
    main = _reach([entrypoint, *flow_hooks], templates, exits=False)
    exit_roots = list(exit_hooks)
    for name in main:  # hooks of the main flow's steps and tasks are exit handlers too
        exit_roots += _calls(templates[name])[1]
    return _reach(exit_roots, templates, exits=True) - main
