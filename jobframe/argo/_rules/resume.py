"""Lint rules for resumable jobs: a retry must find its predecessor's run ledger (docs/resume.md).

A resumable job that is retried needs a templated run key (the workflow's uid, plus the shard in
a fan-out) and a ledger that outlives the pod; a retried step must not forget the ledger
(``--fresh-run``) or repeat unknown sends (``--resend-ambiguous``).
"""

from __future__ import annotations

import re
from argparse import ArgumentTypeError
from collections.abc import Iterator, Mapping

from jobframe._cli.args import yes_no
from jobframe.argo._rules import Problem, StepContext
from jobframe.argo.manifests import Step, references
from jobframe.argo.retries import INFRASTRUCTURE, retried_codes

_PER_ATTEMPT = re.compile(r"\{\{\s*(pod\.name|retries|node\.name|lastRetry\.[A-Za-z]+)\s*\}\}")
"""Argo variables that differ on every retry (``{{retries}}``) or pod (``{{pod.name}}``)."""
_POD_FIELDS = {"metadata.name", "metadata.uid"}
"""Downward-API fields that differ on every pod."""

__all__ = ["resume_problems"]


def _env(step: Step) -> dict[str, str]:
    found = step.container.get("env") or []
    return {str(e["name"]): str(e["value"]) for e in found if isinstance(e, dict) and "value" in e}


def _per_pod_env(step: Step) -> set[str]:
    """Environment variables whose value differs on every pod (the pod's name or uid)."""
    found = set()
    for var in step.container.get("env") or []:
        ref = ((var.get("valueFrom") or {}).get("fieldRef") or {}) if isinstance(var, dict) else {}
        if ref.get("fieldPath") in _POD_FIELDS or _PER_ATTEMPT.search(str(var.get("value", ""))):
            found.add(str(var.get("name")))
    return found


def _changing_key(step: Step, key: str) -> str | None:
    """What makes ``key`` differ on every retry or pod, if anything."""
    match = _PER_ATTEMPT.search(key)
    if match:
        return "{{" + match.group(1) + "}}"
    for name in _per_pod_env(step):
        if f"$({name})" in key or f"${{{name}}}" in key or f"${name}" in key:
            return f"$({name}), the pod's own name or uid"
    return None


def _run_key(ctx: StepContext) -> str | None:
    if ctx.flags.run_key is not None:
        return ctx.flags.run_key
    return ctx.resolved.unknown.get("--run-key") or _env(ctx.step).get("JOBFRAME_RUN_KEY")


def _is_retried(step: Step) -> bool:
    strategy, _ = step.setting("retryStrategy")
    if not isinstance(strategy, Mapping) or str(strategy.get("limit", "")) == "0":
        return False
    analysis = retried_codes(strategy)
    return bool(analysis.codes or analysis.problem)


def _persistent_mounts(step: Step) -> list[str]:
    """Mount paths of volumes that outlive the pod: claim templates and PersistentVolumeClaims."""
    spec = step.document.workflow_spec
    names = {
        str((t.get("metadata") or {}).get("name"))
        for t in spec.get("volumeClaimTemplates") or []
        if isinstance(t, dict)
    }
    for volume in [*(spec.get("volumes") or []), *(step.template.get("volumes") or [])]:
        if isinstance(volume, dict) and "persistentVolumeClaim" in volume:
            names.add(str(volume.get("name")))
    mounts = step.container.get("volumeMounts") or []
    return [str(v["mountPath"]) for v in mounts if isinstance(v, dict) and v.get("name") in names]


def resume_problems(ctx: StepContext) -> Iterator[Problem]:
    if _is_retried(ctx.step):
        for flag, what in (
            (ctx.flags.fresh_run, "--fresh-run: every retry forgets what the failed attempt recorded and"
             " sends everything again"),
            (ctx.flags.resend_ambiguous, "--resend-ambiguous: every retry repeats the batches whose"
             " outcome is unknown, so a user can get a send twice"),
        ):  # fmt: skip
            if flag:
                yield Problem(ctx.step.args_path, f"a retried step passes {what}", "run it by hand, once")
    yield from _registered_problems(ctx)
    if not ctx.spec.deployment.resumable:
        return
    key, step = _run_key(ctx), ctx.step
    shard_text = ctx.resolved.unknown.get("--shard")
    shard_ref = references(shard_text)[0] if shard_text and references(shard_text) else None
    wanted = "{{workflow.uid}}" + (f"-{{{{{shard_ref[0]}.parameters.{shard_ref[1]}}}}}" if shard_ref else "")
    if key is None and "JOBFRAME_RUN_KEY" in _per_pod_env(step):
        key = "$(JOBFRAME_RUN_KEY)"
    if key is None:
        if _is_retried(step):
            yield Problem(
                step.args_path,
                f"job {ctx.spec.name} is resumable but the step passes no --run-key: each retry starts "
                "again from the first object and repeats what the failed attempt delivered",
                f"add --run-key {wanted}",
            )
        return
    changing = _changing_key(step, key) if key != "$(JOBFRAME_RUN_KEY)" else "the pod's own name or uid"
    if changing is not None:
        yield Problem(
            step.args_path,
            f"the run key {key!r} changes on every retry or pod ({changing}): a retry finds no ledger "
            "of its own and sends everything again",
            f"--run-key {wanted}",
        )
    elif "{{" not in key:
        yield Problem(
            step.args_path,
            f"--run-key {key!r} is the same for every run of this template: a later workflow resumes "
            "an earlier one's ledger (skipping what it delivered) or is refused (78)",
            f"--run-key {wanted}",
        )
    elif shard_ref is not None and shard_ref not in references(key):
        yield Problem(
            step.args_path,
            f"every shard runs with --run-key {key!r}: each is refused (78) by the ledger another "
            "shard started under the same key",
            f"--run-key {wanted}",
        )
    yield from _lost_pod_problems(ctx)
    yield from _register_problems(ctx)
    path = (*step.path, step.kind, "env")
    for name, value in _env(step).items():
        persistent = any(value.startswith(mount.rstrip("/") + "/") for mount in _persistent_mounts(step))
        if name.endswith("__PATH") and value.endswith(".sqlite3") and not persistent:
            yield Problem(
                path,
                f"{name}={value}: the SQLite ledger is not on a persistent volume; a retry runs in "
                "a new pod and finds nothing to resume",
                "put it on the workflow's volumeClaimTemplates volume (jobframe-argo render does)",
            )


def _lost_pod_problems(ctx: StepContext) -> Iterator[Problem]:
    """A resumable step's retries should cover a pod lost before or while main ran: for it a
    retry is safe, and node drains, evictions and spot losses are what retries exist for."""
    strategy, _ = ctx.step.setting("retryStrategy")
    if not _is_retried(ctx.step) or not isinstance(strategy, Mapping):
        return
    analysis = retried_codes(strategy)
    if analysis.problem is None and INFRASTRUCTURE not in analysis.always:
        yield Problem(
            ctx.step.origin("retryStrategy", "expression" if strategy.get("expression") else "retryPolicy"),
            f"job {ctx.spec.name} is resumable, but a pod lost before or while its main container ran "
            '(node drain, eviction, spot loss: lastRetry.exitCode "-1") is not retried',
            'add "-1" to the retried exit codes, with retryPolicy Always (a deleted pod\'s node is in '
            "phase Error, an evicted one's in Failed)",
        )


def _registers(template: Mapping[str, object]) -> bool:
    """Whether ``template`` runs ``python -m jobframe.ledger register`` (the register step)."""
    container = template.get("container") or template.get("script")
    if not isinstance(container, Mapping):
        return False
    words = [str(w) for w in [*(container.get("command") or []), *(container.get("args") or [])]]
    return "jobframe.ledger" in words and "register" in words


def _told_registered(ctx: StepContext) -> str | None:
    """How the step tells jobframe its key was registered (``--registered``), if it does."""
    if ctx.flags.registered:
        return "--registered"
    value = _env(ctx.step).get("JOBFRAME_REGISTERED")
    try:
        return f"JOBFRAME_REGISTERED={value}" if value is not None and yes_no(value) else None
    except ArgumentTypeError:
        return None  # jobframe refuses the value itself (exit 2)


def _registered_problems(ctx: StepContext) -> Iterator[Problem]:
    """``--registered`` says a step of this workflow recorded the run key before any attempt:
    without such a step no attempt finds it, and every run is refused (78)."""
    told = _told_registered(ctx)
    if told is None:
        return
    step = ctx.step
    if _run_key(ctx) is None and "JOBFRAME_RUN_KEY" not in _per_pod_env(step):
        yield Problem(
            step.args_path,
            f"the step passes {told} but no --run-key: jobframe refuses it (exit 2)",
            "give --run-key {{workflow.uid}}, or drop " + told,
        )
        return
    templates = step.document.workflow_spec.get("templates") or []
    if not any(isinstance(t, Mapping) and _registers(t) for t in templates):
        yield Problem(
            step.args_path,
            f"the step passes {told}, but no step of this workflow registers its run key: every "
            "attempt finds no record of the key and is refused (78); nothing is ever sent",
            "run `python -m jobframe.ledger register --run-key <the same key>` in a step the job's "
            f"step depends on (jobframe-argo render does), or drop {told}",
        )


def _register_problems(ctx: StepContext) -> Iterator[Problem]:
    """A retried step that knows its retry number (``--retry-number``) and finds no record of its
    key in an empty store refuses (78): safe — nothing is sent twice — but after a pod lost before
    its main container ran, the retry cannot tell "lost before main" from "ledger lost" unless a
    step that ran before any attempt registered the key. Lint cannot see a register done some
    other way, so this is a note."""
    step = ctx.step
    if not _is_retried(step) or "--retry-number" not in step.args:
        return
    templates = step.document.workflow_spec.get("templates") or []
    if any(isinstance(t, Mapping) and _registers(t) for t in templates):
        return
    yield Problem(
        step.args_path,
        f"job {ctx.spec.name} is resumable and retried with --retry-number, but no step of this "
        "workflow registers its run key first: it never sends twice, but a retry after a pod lost "
        "before its main container ran finds an empty ledger and is refused (78) as if the ledger "
        "were lost",
        "run `python -m jobframe.ledger register --run-key <the same key>` in a step the job's step "
        "depends on (jobframe-argo render does; docs/resume.md, 'The register step')",
        note=True,
    )
