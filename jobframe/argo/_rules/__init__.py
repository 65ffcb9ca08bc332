"""The checks ``lint`` makes on each step that runs jobframe: what every rule reads (one jobframe
step, its job, its flags), what it reports, and :func:`check_step`, which runs them in order.

The rules live by what they look at: :mod:`.step` (arguments, deadline, retries, outputs),
:mod:`.pod` (``podSpecPatch``, memory, grace), :mod:`.resume` (run keys across retries) and
:mod:`.workflow` (the DAG or steps template around a step).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from jobframe._app.discovery import App
from jobframe._app.spec import JobSpec
from jobframe.argo.flags import Flags, FlagsError, parse_flags
from jobframe.argo.manifests import Path_, Step
from jobframe.argo.resolve import Resolved, resolve_args
from jobframe.errors import UsageError

__all__ = ["Problem", "StepContext", "check_step", "workflow_problems"]


@dataclass(frozen=True)
class Problem:
    """One fault: where (path inside the document), what, and how to fix it."""

    path: Path_
    message: str
    fix: str
    note: bool = False
    """Lint cannot tell (an expression function it does not know, a shell script): said, but
    not counted as a fault."""


@dataclass(frozen=True)
class StepContext:
    """One jobframe step as the rules see it."""

    step: Step
    spec: JobSpec
    flags: Flags
    resolved: Resolved


# The rules import Problem and StepContext from here: they load once both are defined.
from jobframe.argo._rules.pod import grace_problems, pod_problems  # noqa: E402
from jobframe.argo._rules.resume import resume_problems  # noqa: E402
from jobframe.argo._rules.step import (  # noqa: E402
    deadline_problems,
    output_problems,
    param_problems,
    retry_problems,
    retry_tag_problems,
    shard_problems,
)
from jobframe.argo._rules.workflow import workflow_problems  # noqa: E402

RULES: tuple[Callable[[StepContext], Iterator[Problem]], ...] = (
    param_problems,
    shard_problems,
    deadline_problems,
    grace_problems,
    pod_problems,
    retry_problems,
    retry_tag_problems,
    resume_problems,
)


def check_step(app: App, step: Step) -> list[Problem]:
    """Every problem of one jobframe step."""
    resolved = resolve_args(step)
    try:
        flags = parse_flags(resolved.args)
    except FlagsError as exc:
        return [
            Problem(
                step.args_path, f"jobframe would refuse its arguments (exit 2): {exc}", "fix the argument"
            )
        ]
    if flags.extra:
        return [Problem(step.args_path, f"unknown arguments {flags.extra}", "see `jobframe --help`")]
    problems = list(output_problems(step, flags))
    if flags.job_name is None:
        if "--job-name" in resolved.unknown:
            return problems  # chosen at submit time: nothing more can be checked
        return [
            *problems,
            Problem(step.args_path, "no --job-name", "add --job-name NAME (see `jobframe --list`)"),
        ]
    try:
        spec = app.job(flags.job_name).spec
    except UsageError as exc:
        return [*problems, Problem(step.args_path, str(exc), "name a job of the app, or lint with --app")]
    ctx = StepContext(step, spec, flags, resolved)
    for rule in RULES:
        problems.extend(rule(ctx))
    return problems
