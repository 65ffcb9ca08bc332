"""Which exit codes a ``retryStrategy`` retries, and the expression that retries exactly a set.

Argo retries a failed attempt when its ``retryPolicy`` allows the node's phase and its
``expression`` (if any) is true, with ``lastRetry.exitCode`` a *string*. Without a policy,
``OnFailure`` applies — every non-zero exit, 1, 2 and 78 included — unless an expression is
given, in which case ``Always`` does (the expression alone decides). ``OnError`` and
``OnTransientError`` never retry a process's own failure, so 75 is never retried under them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jobframe.argo.expressions import ExpressionError, evaluate
from jobframe.exit_codes import ExitCode

__all__ = ["KNOWN_CODES", "RetriedCodes", "expression_for", "retried_codes"]

KNOWN_CODES = (*(int(c) for c in ExitCode), 137)
"""jobframe's codes and the platform's SIGKILL: what the analysis asks the strategy about."""

_POLICIES_RETRYING_FAILURES = {"Always", "OnFailure"}
_POLICIES = {*_POLICIES_RETRYING_FAILURES, "OnError", "OnTransientError"}


def expression_for(codes: Iterable[int]) -> str:
    """``lastRetry.exitCode in ["75", "124"]``: string comparison, which no exit code can break
    (``asInt`` fails on the empty code of a pod that never ran)."""
    listed = ", ".join(f'"{code}"' for code in sorted(set(codes)))
    return f"lastRetry.exitCode in [{listed}]"


@dataclass(frozen=True)
class RetriedCodes:
    """The answer: which of :data:`KNOWN_CODES` are retried, or why that cannot be told."""

    codes: frozenset[int]
    policy: str
    problem: str | None = None


def retried_codes(strategy: Mapping[str, Any]) -> RetriedCodes:
    """Which known exit codes ``strategy`` (a manifest's ``retryStrategy``) retries."""
    expression = strategy.get("expression")
    policy = strategy.get("retryPolicy") or ("Always" if expression else "OnFailure")
    if policy not in _POLICIES:
        return RetriedCodes(frozenset(), str(policy), f"unknown retryPolicy {policy!r}")
    if policy not in _POLICIES_RETRYING_FAILURES:
        return RetriedCodes(frozenset(), policy)
    if not expression:
        return RetriedCodes(frozenset(c for c in KNOWN_CODES if c != 0), policy)
    if not isinstance(expression, str):
        return RetriedCodes(frozenset(), policy, f"expression must be a string, got {expression!r}")
    retried = set()
    for code in KNOWN_CODES:
        if code == 0:
            continue
        last = {"exitCode": str(code), "status": "Failed", "duration": "60", "message": ""}
        try:
            verdict = evaluate(expression, {"lastRetry": last})
        except ExpressionError as exc:
            return RetriedCodes(frozenset(), policy, f"cannot evaluate the expression: {exc}")
        if not isinstance(verdict, bool):
            return RetriedCodes(frozenset(), policy, f"the expression gives {verdict!r}, not true/false")
        if verdict:
            retried.add(code)
    return RetriedCodes(frozenset(retried), policy)
