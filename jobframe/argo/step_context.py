"""What every lint rule reads (one jobframe step, its job, its flags) and what it reports."""

from __future__ import annotations

from dataclasses import dataclass

from jobframe._app.spec import JobSpec
from jobframe.argo.flags import Flags
from jobframe.argo.manifests import Path_, Step
from jobframe.argo.resolve import Resolved

__all__ = ["Problem", "StepContext"]


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
