"""Lint rules on what the pod is given: ``podSpecPatch`` (read as Argo reads it), memory, grace.

``podSpecPatch`` is a JSON/YAML string Argo parses into a Kubernetes ``PodSpec`` and merges last
(``ApplyPodSpecPatch`` in Argo's ``workflow/util/util.go``) — the workflow's, then the template's:
a field of the wrong type makes Argo refuse the pod (the step never runs), and a field it sets
wins over the template's own.
Template tags (``{{retries}}``) inside it are left unknown, never guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from jobframe.argo._rules import Problem, StepContext

__all__ = ["KUBERNETES_GRACE_S", "grace_problems", "pod_problems", "quantity_bytes"]

KUBERNETES_GRACE_S = 30
"""``terminationGracePeriodSeconds`` when the pod does not set it."""
_TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)
UNKNOWN = "__argo_tag__"
"""What a template tag becomes while parsing: a value lint does not know."""
_SUFFIX = {
    "": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip
_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")


def quantity_bytes(text: Any) -> float | None:
    """A Kubernetes quantity (``512Mi``, ``1G``, ``1e9``) as a number; ``None`` when it is not one."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    match = _QUANTITY.fullmatch(str(text).strip())
    if match is None:
        return None
    number, exponent, suffix = match.groups()
    return float(number + (exponent or "")) * _SUFFIX[suffix or ""]


def _layers(ctx: StepContext) -> list[tuple[Any, tuple[str | int, ...]]]:
    """The podSpecPatches Argo applies to the step's pod, in order: the workflow's, then the
    template's own or ``templateDefaults``' (``processPodSpecPatch`` in ``workflowpod.go``)."""
    step = ctx.step
    spec, spec_path = step.document.workflow_spec, step.document.spec_path
    layers = []
    if spec.get("podSpecPatch") is not None:
        layers.append((spec["podSpecPatch"], (*spec_path, "podSpecPatch")))
    defaults = spec.get("templateDefaults")
    if step.template.get("podSpecPatch") is not None:
        layers.append((step.template["podSpecPatch"], (*step.path, "podSpecPatch")))
    elif isinstance(defaults, Mapping) and defaults.get("podSpecPatch") is not None:
        layers.append((defaults["podSpecPatch"], (*spec_path, "templateDefaults", "podSpecPatch")))
    return layers


def _over(base: Any, patch: Any) -> Any:
    """``patch`` merged over ``base`` map by map (a strategic merge; lists are replaced)."""
    if isinstance(base, Mapping) and isinstance(patch, Mapping):
        return {**base, **{k: _over(base.get(k), v) for k, v in patch.items()}}
    return patch


def _patch(ctx: StepContext, field: str) -> tuple[Any, Any, tuple[str | int, ...]]:
    """The pod's patch as Argo applies it (every layer merged, tags as :data:`UNKNOWN`), with the
    text and path of the layer that sets ``field`` — the last to, which wins — else of the last
    layer; raises YAMLError."""
    merged: Any = None
    raw: Any = None
    path: tuple[str | int, ...] = (*ctx.step.path, "podSpecPatch")
    for text, where in _layers(ctx):
        parsed = yaml.safe_load(_TAG.sub(UNKNOWN, text)) if isinstance(text, str) else text
        merged = _over(merged, parsed)
        if raw is None or (isinstance(parsed, Mapping) and field in parsed):
            raw, path = text, where
    return merged, raw, path


def _unknown(value: Any) -> bool:
    return isinstance(value, str) and UNKNOWN in value


def grace_problems(ctx: StepContext) -> Iterator[Problem]:
    try:
        patch, raw, path = _patch(ctx, "terminationGracePeriodSeconds")
    except yaml.YAMLError as exc:
        raw, path = ctx.step.setting("podSpecPatch")
        yield Problem(path, f"podSpecPatch is not JSON/YAML: {exc}", "write it as a JSON object string")
        return
    grace: float = KUBERNETES_GRACE_S
    if isinstance(patch, dict) and patch.get("terminationGracePeriodSeconds") is not None:
        value = patch["terminationGracePeriodSeconds"]
        if _unknown(value):
            return
        if isinstance(value, str | bool) or not isinstance(value, int | float):
            yield Problem(
                path,
                f"terminationGracePeriodSeconds is written as {value!r}, not a number: Argo cannot read "
                "the patch into a pod (invalid podSpecPatch) and the step never runs",
                f"podSpecPatch: '{{\"terminationGracePeriodSeconds\": {value if _int_text(value) else 30}}}'",
            )
            return
        grace = float(value)
    needs = ctx.flags.budget.stop_grace(ctx.flags.exit_grace)
    if grace < needs:
        source = "podSpecPatch" if raw is not None else "the Kubernetes default"
        yield Problem(
            path,
            f"terminationGracePeriodSeconds {grace:g} ({source}) is shorter than jobframe needs to stop "
            f"after SIGTERM: {needs:g} s (cancel grace + teardown budget + exit grace + slack): "
            "the pod is SIGKILLed mid-teardown (exit 137)",
            f"podSpecPatch: '{{\"terminationGracePeriodSeconds\": {math.ceil(needs)}}}'",
        )


def _int_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip().isdigit()


def _patched_memory(patch: Any, name: str) -> Any:
    containers = patch.get("containers") if isinstance(patch, dict) else None
    for container in containers if isinstance(containers, list) else []:
        if isinstance(container, Mapping) and container.get("name") == name:
            limits = (container.get("resources") or {}).get("limits") or {}
            return limits.get("memory") if isinstance(limits, Mapping) else None
    return None


def pod_problems(ctx: StepContext) -> Iterator[Problem]:
    """The pod's deadline in podSpecPatch, and its memory against the job's declared resources."""
    try:
        patch, _, patch_path = _patch(ctx, "activeDeadlineSeconds")
        memory_path = _patch(ctx, "containers")[2]
    except yaml.YAMLError:
        return  # grace_problems says it
    step = ctx.step
    template_deadline, _ = step.setting("activeDeadlineSeconds")
    patched = patch.get("activeDeadlineSeconds") if isinstance(patch, dict) else None
    if patched is not None and not _unknown(patched):
        if not isinstance(patched, int) or isinstance(patched, bool):
            yield Problem(
                patch_path,
                f"podSpecPatch sets activeDeadlineSeconds {patched!r}, not a number: Argo cannot read the "
                "patch into a pod and the step never runs",
                "remove activeDeadlineSeconds from podSpecPatch; the template's own field sets it",
            )
        elif template_deadline is None or str(template_deadline) != str(patched):
            yield Problem(
                patch_path,
                f"podSpecPatch sets activeDeadlineSeconds {patched}, the template {template_deadline}: the "
                "patch wins, and the job's --timeout and lint's arithmetic follow the template's",
                "remove activeDeadlineSeconds from podSpecPatch; set it on the template only",
            )
    declared = ctx.spec.deployment.resources.memory
    limits = (step.container.get("resources") or {}).get("limits") or {}
    memory, where = limits.get("memory"), (*step.path, step.kind, "resources", "limits", "memory")
    from_patch = _patched_memory(patch, "main")
    if from_patch is not None:
        memory, where = from_patch, memory_path
    if memory is None or _unknown(memory) or "{{" in str(memory):
        return
    have, want = quantity_bytes(memory), quantity_bytes(declared)
    if have is not None and want is not None and have < want:
        yield Problem(
            where,
            f"memory limit {memory} is below the {declared} job {ctx.spec.name} declares "
            "(@jobframe.job(resources=...)): the kernel kills it (137) before it has what it was built for",
            f"memory: {declared} (requests and limits)",
        )
