"""Lint rules on a step's arguments and retries, each naming the path and the fix.

Every rule compares the manifest with what the job says about itself (name, parameters,
``min_seconds``, deployment metadata) and with what jobframe will do (its budget arithmetic in
:class:`jobframe.deadline.Budget`, its exit codes): the ways a hand-written manifest brings back
a job killed mid-teardown, a retry of what cannot succeed, or a retry started with no time.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from jobframe._app.deployment import NEVER_RETRIED, backoff_wait
from jobframe._app.params import decode_params, split_pairs
from jobframe.argo._rules import Problem, StepContext
from jobframe.argo.flags import Flags
from jobframe.argo.flow import exit_only
from jobframe.argo.manifests import Path_, Step, references
from jobframe.argo.retries import expression_for, retried_codes
from jobframe.argo.timing import argo_int, parse_duration, retry_shortfalls
from jobframe.errors import UsageError
from jobframe.exit_codes import ExitCode
from jobframe.inputs import FILE_CHECKS

__all__ = [
    "deadline_problems",
    "output_problems",
    "param_problems",
    "retry_problems",
    "retry_tag_problems",
    "shard_problems",
]

_RETRY_TAG = re.compile(r"\{\{\s*(retries|lastRetry\.[A-Za-z]+)\s*\}\}")
"""Argo variables it sets only in a template with a retry strategy."""


def _seconds(value: Any) -> float | None:
    """An IntOrString number of seconds; ``None`` when templated or absent."""
    if value is None or (isinstance(value, str) and "{{" in value):
        return None
    return float(value)


def _codes(codes: Any) -> str:
    return ", ".join(str(c) for c in sorted(codes))


# -- the job and its parameters ------------------------------------------------------------------


def param_problems(ctx: StepContext) -> Iterator[Problem]:
    spec, step = ctx.spec, ctx.step
    model = spec.params_model
    pairs = list(ctx.flags.params)
    if model is None:
        if pairs:
            yield Problem(
                step.args_path, f"job {spec.name} takes no parameters, got {pairs}", "remove the --param"
            )
        return
    known = {info.alias or name for name, info in model.model_fields.items()}
    literal, given = [], set()
    for pair in pairs:
        key, _, value = pair.partition("=")
        given.add(key)
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"--param {close[0]}=..." if close else f"one of {', '.join(sorted(known))}"
            yield Problem(step.args_path, f"job {spec.name} has no parameter {key!r}", f"use {hint}")
        elif "{{" in value:
            yield from _reference_problems(ctx, key, value)
        else:
            literal.append(pair)
    missing = [
        info.alias or name
        for name, info in model.model_fields.items()
        if info.is_required() and (info.alias or name) not in given
    ]
    if missing:
        yield Problem(
            step.args_path,
            f"job {spec.name} requires {', '.join(missing)}; without it the step exits 2",
            " ".join(f"--param {m}={{{{inputs.parameters.{m}}}}}" for m in missing),
        )
    yield from _value_problems(ctx, [p for p in literal if p.partition("=")[0] in known])


def _reference_problems(ctx: StepContext, key: str, value: str) -> Iterator[Problem]:
    declared = {"inputs": ctx.step.inputs(), "workflow": ctx.step.workflow_arguments()}
    for where, name in references(value):
        if name not in declared[where]:
            place = "inputs.parameters" if where == "inputs" else "spec.arguments.parameters"
            yield Problem(
                ctx.step.args_path,
                f"--param {key} refers to {where}.parameters.{name}, which is not declared",
                f"declare it in {place}, or refer to a declared parameter",
            )


def _value_problems(ctx: StepContext, pairs: list[str]) -> Iterator[Problem]:
    model = ctx.spec.params_model
    if not pairs or model is None:
        return
    try:
        values = split_pairs(pairs)
        decoded = decode_params(ctx.spec, values)
    except UsageError as exc:
        yield Problem(ctx.step.args_path, str(exc), "write it as --param KEY=VALUE, as jobframe reads it")
        return
    try:
        model.model_validate(decoded)
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "missing" or error["type"] in FILE_CHECKS or key not in values:
                continue  # a path is checked where the job runs: its file is on the pod's volume
            yield Problem(
                ctx.step.args_path,
                f"--param {key}={values[key]!r} is invalid for job {ctx.spec.name}: {error['msg']}",
                "give a value the job accepts (the step would exit 2)",
            )


def shard_problems(ctx: StepContext) -> Iterator[Problem]:
    sharded = "--shard" in ctx.resolved.unknown or (
        ctx.flags.shard is not None and not ctx.flags.shard.is_whole
    )
    if sharded and not ctx.spec.deployment.shardable:
        yield Problem(
            ctx.step.args_path,
            f"job {ctx.spec.name} is not shardable but the step passes --shard (it would exit 2)",
            "remove --shard, or make the job read RunContext.shard and declare @jobframe.job(shardable=True)",
        )


# -- deadlines -----------------------------------------------------------------------------------


class TimeoutFieldError(ValueError):
    """A template ``timeout`` the controller cannot parse."""


def pod_deadline(step: Step) -> tuple[float | None, Path_, str]:
    """The kubelet's deadline for each attempt's pod, where it is written, and how to name it.

    A template's ``timeout`` (counted from the node's start, pending included) *replaces* its
    ``activeDeadlineSeconds``: the pod build writes what is left of it into the pod's field
    whenever it is still ahead (``checkTemplateTimeouts`` in ``workflowpod.go``). Raises
    :class:`TimeoutFieldError` for a ``timeout`` the controller cannot parse (it fails the step).
    """
    raw, path = step.setting("timeout")
    if raw is not None and not (isinstance(raw, str) and "{{" in raw):
        try:
            seconds = parse_duration(raw)
        except (ValueError, TypeError) as exc:
            raise TimeoutFieldError(f"timeout {raw!r} cannot be read: {exc}") from None
        return seconds, path, f"the template's timeout {seconds:g} s"
    raw, path = step.setting("activeDeadlineSeconds")
    deadline = _seconds(raw)
    return deadline, path, f"activeDeadlineSeconds {deadline:g}" if deadline is not None else ""


def deadline_problems(ctx: StepContext) -> Iterator[Problem]:
    step, flags = ctx.step, ctx.flags
    try:
        deadline, path, named = pod_deadline(step)
    except TimeoutFieldError as exc:
        yield Problem(
            step.setting("timeout")[1],
            f"{exc}: Argo fails the step before its pod is created",
            'a whole number of seconds ("1800") or a Go duration ("30m", "1h30m")',
        )
        return
    needs = flags.budget.attempt_needs(ctx.spec.min_seconds)
    why = f"min_seconds {ctx.spec.min_seconds:g} + deadline margin + teardown budget"
    if flags.timeout is None and "--timeout" not in ctx.resolved.unknown and deadline is not None:
        yield Problem(
            step.args_path,
            f"no --timeout: the job cannot know the {deadline:g} s deadline the kubelet enforces "
            "(activeDeadlineSeconds is not in ARGO_DEADLINE), so it is killed instead of ending on time",
            f"add --timeout {deadline:g} to the arguments",
        )
    late = flags.timeout is not None and deadline is not None and flags.timeout > deadline
    if late:
        why, fix = "", ""
        if path[-1] == "timeout":
            why = " (Argo writes what is left of it into the pod's activeDeadlineSeconds)"
            fix = f", or raise timeout to {flags.timeout:g}s"
        yield Problem(
            path if why else step.args_path,
            f"--timeout {flags.timeout:g} is later than {named}: "
            f"the pod is killed before jobframe's own deadline{why}",
            f"pass --timeout {deadline:g}{fix}",
        )
    attempt = min((t for t in (flags.timeout, deadline) if t is not None), default=None)
    where = path if deadline is not None and deadline <= (flags.timeout or math.inf) else step.args_path
    declared = ctx.spec.deployment.timeout
    if attempt is not None and attempt < needs:
        yield Problem(
            where,
            f"each attempt has {attempt:g} s; job {ctx.spec.name} needs at least {needs:g} s ({why})",
            f'give each attempt at least {math.ceil(needs)} s (activeDeadlineSeconds: "{math.ceil(needs)}" '
            "and the same --timeout)",
        )
    elif attempt is not None and attempt < declared and not late:  # one finding for one fault
        yield Problem(
            where,
            f"each attempt has {attempt:g} s, less than the {declared:g} s job {ctx.spec.name} declares "
            "(@jobframe.job(timeout=...)): it is cut off before the time it was written for",
            f"--timeout {declared:g} and activeDeadlineSeconds at least that plus the pod's start "
            "(jobframe-argo render adds 120 s), or lower the job's timeout",
        )


# -- retries -------------------------------------------------------------------------------------


def retry_problems(ctx: StepContext) -> Iterator[Problem]:
    strategy, path = ctx.step.setting("retryStrategy")
    if not isinstance(strategy, Mapping):
        return
    wanted = ctx.spec.deployment.retry
    fix_expression = f"expression: '{expression_for(wanted.on)}'"
    limit_raw = strategy.get("limit")
    if limit_raw is None:
        yield Problem(
            (*path, "limit"), "retryStrategy without a limit: Argo retries without end", 'limit: "3"'
        )
        limit = None
    else:
        limit, unreadable_limit = _limit(limit_raw, path)
        if unreadable_limit is not None:
            yield unreadable_limit
    if limit == 0:
        return
    unreadable = list(_backoff_problems(strategy, path))
    yield from unreadable
    if strategy.get("retryPolicy") == "Always" and not strategy.get("expression"):
        yield Problem(
            (*path, "retryPolicy"),
            "retryPolicy Always without an expression retries every failure: 1 (a bug), 2 (a bad "
            "command line), 78 (bad configuration) and Argo's own errors",
            fix_expression,
        )
        return
    analysis = retried_codes(strategy)
    step = ctx.step
    where = step.origin("retryStrategy", "expression" if strategy.get("expression") else "retryPolicy")
    if analysis.problem:
        if analysis.unknown:
            yield Problem(
                where,
                f"cannot tell which exit codes are retried: {analysis.problem}",
                f"make sure it retries 75 and never 1, 2 or 78, e.g. {fix_expression}; silence this note "
                "with the annotation jobframe/lint-ignore (docs/argo.md)",
                note=True,
            )
        else:
            yield Problem(
                where, f"cannot tell which exit codes are retried: {analysis.problem}", fix_expression
            )
        return
    if wanted.limit == 0:
        if analysis.codes:
            yield Problem(
                path,
                f"job {ctx.spec.name} declares no retries (@jobframe.job(retry=Retry(limit=0))): a retry "
                f"would repeat what the failed attempt already did; this retries {_codes(analysis.codes)}",
                "remove the retryStrategy",
            )
        return
    never = analysis.codes & set(NEVER_RETRIED)
    if never:
        yield Problem(
            where,
            f"retries exit code{'s' if len(never) > 1 else ''} {_codes(never)}, which a retry cannot fix "
            "(1 a failing job, 2 a bad command line, 78 bad configuration)",
            fix_expression,
        )
    if int(ExitCode.RETRYABLE) not in analysis.codes:
        yield Problem(
            where,
            f"does not retry exit code 75 (a failure a retry can fix); policy {analysis.policy} retries "
            f"{_codes(analysis.codes) or 'no exit code'}",
            fix_expression + " (lastRetry.exitCode is a string)",
        )
    if limit and not unreadable:
        yield from _window_problems(ctx, strategy, path, limit)


_AT_FIRST_RETRY = "Argo fails the step at its first retry instead of retrying"
"""What the controller does with a retry field it cannot read: it reads them when a retry is due."""


def _limit(raw: Any, path: Path_) -> tuple[int | None, Problem | None]:
    """``retryStrategy.limit`` as the controller reads it (``intstr.Int32`` in
    ``processNodeRetries``): a value it cannot read fails the step at its first retry."""
    if "{{" in str(raw):
        return None, None
    try:
        return argo_int(raw), None
    except ValueError as exc:
        return None, Problem(
            (*path, "limit"), f"retryStrategy.limit: {exc}: {_AT_FIRST_RETRY}", 'a whole number: limit: "3"'
        )


def _backoff_problems(strategy: Mapping[str, Any], path: Path_) -> Iterator[Problem]:
    """Back-off fields the controller cannot read. It reads them only when a retry is due
    (``processNodeRetries`` in ``workflow/controller/operator.go``: ``ParseStringToDuration``,
    ``intstr.Int32``, "no base duration specified"), and then fails the step instead of retrying:
    a manifest that runs fine until its first failure."""
    backoff = strategy.get("backoff")
    if not isinstance(backoff, Mapping):
        return
    at = (*path, "backoff")
    then = _AT_FIRST_RETRY
    if not backoff.get("duration"):
        yield Problem(at, f"a backoff without a duration: {then}", 'duration: "30s"')
    for field in ("duration", "cap", "maxDuration"):
        value = backoff.get(field)
        if value in (None, "") or "{{" in str(value):
            continue
        try:
            parse_duration(value)
        except ValueError as exc:
            yield Problem(
                (*at, field),
                f"backoff.{field}: {exc}: {then}",
                'whole seconds ("30") or a Go duration ("30s", "5m", "1h30m")',
            )
    factor = backoff.get("factor")
    if factor is not None and "{{" not in str(factor):
        try:
            argo_int(factor)
        except ValueError as exc:
            yield Problem((*at, "factor"), f"backoff.factor: {exc}: {then}", 'a whole number: factor: "2"')


def retry_tag_problems(ctx: StepContext) -> Iterator[Problem]:
    """``{{retries}}`` and ``{{lastRetry.*}}`` where Argo never sets them: it adds them to a
    template's scope only when the template has a retry strategy (its own, ``templateDefaults``'
    or the workflow's: ``executeTemplate`` in ``workflow/controller/operator.go``) and leaves an
    unknown tag as text, so the process gets ``{{retries}}`` itself."""
    step = ctx.step
    if isinstance(step.setting("retryStrategy")[0], Mapping):
        return
    container = step.container
    places: list[tuple[Path_, Any]] = [
        ((*step.path, step.kind, field, i), text)
        for field in ("command", "args")
        for i, text in enumerate(container.get(field) or [])
    ]
    places += [
        ((*step.path, step.kind, "env", i, "value"), var.get("value"))
        for i, var in enumerate(container.get("env") or [])
        if isinstance(var, dict)
    ]
    places.append(((*step.path, step.kind, "source"), container.get("source")))
    for where, text in places:
        match = _RETRY_TAG.search(str(text or ""))
        if match is None:
            continue
        tag = match.group(0)
        refused = "--retry-number" in step.args and any(_RETRY_TAG.search(a) for a in step.args)
        yield Problem(
            where,
            f"{tag} without a retryStrategy: Argo sets it only in a template that has one and leaves "
            f"it as text here, so the process gets {tag!r}"
            + (" and jobframe refuses --retry-number (exit 2) on every run" if refused else ""),
            "remove it (a step that is never retried has only attempt 0, jobframe's default "
            "--retry-number), or give the template its retryStrategy",
        )
        return


def _window_problems(
    ctx: StepContext, strategy: Mapping[str, Any], path: Path_, limit: int
) -> Iterator[Problem]:
    """Later attempts inside backoff.maxDuration or the workflow's activeDeadlineSeconds."""
    backoff = strategy.get("backoff") or {}
    try:
        deadline = pod_deadline(ctx.step)[0]
    except TimeoutFieldError:
        return  # deadline_problems names it
    # An attempt lasts until its pod's deadline at most (the pod's start counts); without one,
    # until jobframe's own --timeout.
    timeout = deadline if deadline is not None else ctx.flags.timeout
    if timeout is None:
        return
    try:
        duration = parse_duration(backoff.get("duration", 0) or 0)
        factor = argo_int(backoff.get("factor", 1) or 1)
        cap = parse_duration(backoff["cap"]) if backoff.get("cap") else None
        windows: list[tuple[float, Path_, str]] = []
        if backoff.get("maxDuration"):
            where = ctx.step.origin("retryStrategy", "backoff", "maxDuration")
            windows.append((parse_duration(backoff["maxDuration"]), where, "maxDuration"))
    except (ValueError, TypeError) as exc:
        yield Problem(
            (*path, "backoff"), f"backoff cannot be read: {exc}", 'durations like "30s", "5m", "1h"'
        )
        return
    spec_path = ctx.step.document.spec_path
    spec = ctx.step.document.workflow_spec
    workflow_deadline = _seconds(spec.get("activeDeadlineSeconds"))
    if workflow_deadline is not None and ctx.step.template.get("name") not in exit_only(spec):
        windows.append(
            (workflow_deadline, (*spec_path, "activeDeadlineSeconds"), "workflow activeDeadlineSeconds")
        )
    needs = ctx.flags.budget.attempt_needs(ctx.spec.min_seconds)

    def wait(retry: int) -> float:
        return backoff_wait(retry, duration, factor, cap)

    for window, where, name in windows:
        shortfalls = retry_shortfalls(timeout=timeout, limit=limit, wait=wait, window=window, needs=needs)
        if not shortfalls:
            continue
        first = shortfalls[0]
        fitting = first.retry - 1
        full = limit * timeout + sum(wait(n) for n in range(1, limit + 1)) + needs
        yield Problem(
            where,
            f"retry {first.retry} can start with only {first.left:g} s left of {name} {window:g} s "
            f"(counted from the first attempt: {first.retry} earlier attempt{'s' if first.retry > 1 else ''} "
            f"of up to {timeout:g} s and {first.latest - first.retry * timeout:g} s of back-off); "
            f"job {ctx.spec.name} needs {needs:g} s: that attempt starts with deadline.short and is cut off",
            f"raise {name} to at least {math.ceil(full)} s, remove it, "
            f"or lower retryStrategy.limit to {fitting}",
        )


def output_problems(step: Step, flags: Flags) -> Iterator[Problem]:
    params = (step.template.get("outputs") or {}).get("parameters") or []
    read = {
        str((p.get("valueFrom") or {}).get("path")): (i, p)
        for i, p in enumerate(params)
        if isinstance(p, dict) and isinstance(p.get("valueFrom"), dict) and p["valueFrom"].get("path")
    }
    if flags.output is not None and str(flags.output) in read:
        index, param = read[str(flags.output)]
        if param["valueFrom"].get("default") is None:
            yield Problem(
                (*step.path, "outputs", "parameters", index, "valueFrom"),
                f"output {param.get('name')!r} reads --output {flags.output}, which a failed attempt does "
                "not write: without a default the step errors instead of failing with the job's exit code",
                "default: 'null'",
            )
        return
    for path, (index, param) in read.items():  # the job's result is written somewhere else, or nowhere
        told = f"the step's --output is {flags.output}" if flags.output else "the step passes no --output"
        yield Problem(
            (*step.path, "outputs", "parameters", index, "valueFrom", "path"),
            f"output {param.get('name')!r} reads {path}, which the step never writes ({told}): "
            "it is always its default (or the step errors)",
            f"pass --output {path}" if not flags.output else f"path: {flags.output}",
        )
