"""Which exit codes a ``retryStrategy`` retries, and the expression that retries exactly a set.

Argo retries a failed attempt when its ``retryPolicy`` allows the node's phase and its
``expression`` (if any) is true, with ``lastRetry.exitCode`` a *string*. Without a policy,
``OnFailure`` applies — every non-zero exit, 1, 2 and 78 included — unless an expression is
given, in which case ``Always`` does (the expression alone decides). A process's own exit puts
the node in phase Failed; a pod lost before or while main ran (exit code "-1") in phase Error
when it was deleted, Failed when the kubelet evicted it: ``OnFailure`` retries only Failed,
``OnError`` only Error, ``Always`` both (``processNodeRetries`` in Argo's
``workflow/controller/operator.go``). ``OnTransientError``
retries only what the controller's message calls transient, so lint counts on nothing from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jobframe.argo.expressions import ExpressionError, UnknownNameError, evaluate
from jobframe.exit_codes import ExitCode

__all__ = ["INFRASTRUCTURE", "KNOWN_CODES", "RetriedCodes", "expression_for", "retried_codes"]

INFRASTRUCTURE = -1
"""``lastRetry.exitCode`` when no exit code was captured: the pod was deleted (node drain, spot
loss) or failed before its main container ran — phase Error — or the kubelet evicted it before
main was terminated — phase Failed (Argo's ``buildRetryStrategyLocalScope``, ``inferFailedReason``)."""
KNOWN_CODES = (*(int(c) for c in ExitCode), 137, INFRASTRUCTURE)
"""jobframe's codes, the platform's SIGKILL and Argo's "no exit code": what the analysis asks about."""

_POLICIES = {"Always", "OnFailure", "OnError", "OnTransientError"}


def expression_for(codes: Iterable[int]) -> str:
    """``lastRetry.exitCode in ["75", "124"]``: string comparison, which no exit code can break
    (``asInt`` fails on the empty code of a pod that never ran)."""
    listed = ", ".join(f'"{code}"' for code in sorted(set(codes)))
    return f"lastRetry.exitCode in [{listed}]"


@dataclass(frozen=True)
class RetriedCodes:
    """The answer: which of :data:`KNOWN_CODES` are retried, or why that cannot be told."""

    codes: frozenset[int]
    """Codes retried in at least one of the ways an attempt can end with them."""
    policy: str
    problem: str | None = None
    unknown: bool = False
    """The expression uses a function or variable not known here: "cannot tell", not a fault."""
    always: frozenset[int] = frozenset()
    """Codes retried in every way an attempt can end with them ("-1": deleted or evicted)."""


_EVICTED = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi."


def _last_retries(code: int) -> list[dict[str, str]]:
    """Argo's ``lastRetry`` for each way an attempt can end with ``code``: a pod lost before or
    while main ran has no exit code ("-1") — deleted (phase Error, the controller's message) or
    evicted by the kubelet before main was terminated (phase Failed, the kubelet's message)."""
    if code == INFRASTRUCTURE:
        return [
            {"exitCode": "-1", "status": "Error", "duration": "60", "message": "pod deleted"},
            {"exitCode": "-1", "status": "Failed", "duration": "60", "message": _EVICTED},
        ]
    return [{"exitCode": str(code), "status": "Failed", "duration": "60", "message": ""}]


def retried_codes(strategy: Mapping[str, Any]) -> RetriedCodes:
    """Which known exit codes ``strategy`` (a manifest's ``retryStrategy``) retries."""
    expression = strategy.get("expression")
    policy = strategy.get("retryPolicy") or ("Always" if expression else "OnFailure")
    if policy not in _POLICIES:
        return RetriedCodes(frozenset(), str(policy), f"unknown retryPolicy {policy!r}")
    phases = {
        "Always": {"Failed", "Error"},
        "OnFailure": {"Failed"},
        "OnError": {"Error"},
        "OnTransientError": set(),
    }[policy]
    if expression is not None and not isinstance(expression, str):
        return RetriedCodes(frozenset(), policy, f"expression must be a string, got {expression!r}")
    some, every = set(), set()
    for code in (c for c in KNOWN_CODES if c != 0):
        verdicts = []
        for last in _last_retries(code):
            if last["status"] not in phases:
                verdicts.append(False)
                continue
            if not expression:
                verdicts.append(True)
                continue
            try:
                verdict = evaluate(expression, {"lastRetry": last, "retries": "0"})
            except UnknownNameError as exc:
                return RetriedCodes(frozenset(), policy, f"{exc} (not known to lint)", unknown=True)
            except ExpressionError as exc:
                return RetriedCodes(frozenset(), policy, f"cannot evaluate the expression: {exc}")
            if not isinstance(verdict, bool):
                return RetriedCodes(frozenset(), policy, f"the expression gives {verdict!r}, not true/false")
            verdicts.append(verdict)
        if any(verdicts):
            some.add(code)
        if all(verdicts):
            every.add(code)
    return RetriedCodes(frozenset(some), policy, always=frozenset(every))
