"""Deadlines: where they come from, and the one schedule a run keeps to meet them.

``--timeout`` (seconds from start: what a template's ``activeDeadlineSeconds`` should pass),
``--deadline`` (an RFC 3339 instant) and ``ARGO_DEADLINE`` (the workflow's, already shrunk for
retries by Argo) — the earliest wins; Argo's zero time means "no deadline".

:class:`Schedule` is computed once, when the job starts, and everything that depends on the
deadline asks it: when to cancel the job (and what ``deadline.short`` says about it), how long a
job that ignores its cancellation is given before it is abandoned, and how long teardown may take.
All of it is pure arithmetic on seconds, so it is pinned by unit and mutation tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "ARGO_ZERO_TIME",
    "EXIT_ALLOWANCE_S",
    "MAX_MARGIN_SHARE",
    "MIN_TEARDOWN_S",
    "STOP_SLACK_S",
    "TAKEOVER_SLACK_S",
    "Budget",
    "Deadline",
    "Schedule",
    "effective_deadline",
    "parse_rfc3339",
]

ARGO_ZERO_TIME = "0001-01-01T00:00:00Z"

MAX_MARGIN_SHARE = 0.25
"""For a short deadline the margin takes at most this share of the time left, unless teardown needs more."""

MIN_TEARDOWN_S = 0.5
"""Teardown always gets at least this long, even when the deadline has (nearly) passed: the
platform's grace period after its SIGTERM is what bounds it then."""

TAKEOVER_SLACK_S = 0.5
"""A teardown stuck this long past its budget (a close blocked in C code) is finished by the
supervisor — sooner when that would leave less than :data:`EXIT_ALLOWANCE_S` before the deadline."""

EXIT_ALLOWANCE_S = 0.25
"""What the end of a run needs before the deadline after the supervisor took over a stuck close:
the closes left, the ``atexit`` hooks' least share, ``process.exit``. A teardown budget cut by the
deadline ends :data:`TAKEOVER_SLACK_S` plus this before it, so the process still exits in time."""

STOP_SLACK_S = 2.0
"""What a terminated run needs beyond its budgets: the handler's start, 0.5 s more for a close stuck
in C past the teardown budget and the 0.2 s each later close still gets, the 0.5 s the ``atexit``
hooks get even when the report and lingering threads used up the exit grace, 0.5 s between the
descendants' SIGTERM and SIGKILL, and ``process.exit``."""


def parse_rfc3339(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp (``Z`` or an offset); ``None`` for Argo's zero time.

    Raises ``ValueError`` for anything else, including a timestamp without a time zone, since
    guessing the zone would move the deadline by hours.
    """
    parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone (expected e.g. 2026-08-21T14:00:00Z)")
    if parsed.year == 1:  # Argo's zero time, 0001-01-01T00:00:00Z, in any zone
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00: later than the last instant a datetime holds
        raise ValueError(f"{value!r} is out of range (after 9999-12-31T23:59:59Z)") from None


@dataclass(frozen=True)
class Deadline:
    """An absolute instant and which source set it (shown in ``job.started``)."""

    at: datetime
    source: str

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.at - (now or datetime.now(UTC))).total_seconds()


def effective_deadline(
    *,
    now: datetime,
    timeout: float | None = None,
    deadline: datetime | None = None,
    argo_deadline: datetime | None = None,
) -> Deadline | None:
    """The earliest of the given deadlines, or ``None`` when there is none."""
    candidates: list[Deadline] = []
    if timeout is not None:
        candidates.append(Deadline(now + timedelta(seconds=timeout), "--timeout"))
    if deadline is not None:
        candidates.append(Deadline(deadline, "--deadline"))
    if argo_deadline is not None:
        candidates.append(Deadline(argo_deadline, "ARGO_DEADLINE"))
    return min(candidates, key=lambda d: d.at, default=None)


@dataclass(frozen=True)
class Budget:
    """The time a run reserves around its job: the CLI's ``--deadline-margin``,
    ``--shutdown-timeout`` and ``--cancel-grace``."""

    deadline_margin: float = 10.0
    """Cancel the job this long before the deadline (shrinks for short deadlines)."""
    shutdown_timeout: float = 5.0
    """Teardown may take this long."""
    cancel_grace: float = 2.0
    """A cancelled job that has not stopped after this long is abandoned."""

    def __post_init__(self) -> None:
        for name in ("deadline_margin", "shutdown_timeout", "cancel_grace"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def attempt_needs(self, min_seconds: float) -> float:
        """The least time an attempt must start with: ``min_seconds`` of work, then the deadline
        margin (the job is cancelled that long before the deadline) and the teardown budget.

        A manifest that lets an attempt start with less is what ``jobframe.argo lint`` reports;
        at run time the same shortfall shows as ``deadline.short``.
        """
        return min_seconds + self.deadline_margin + self.shutdown_timeout

    def stop_grace(self, exit_grace: float) -> float:
        """How long a run may take to end after a SIGTERM: the cancelled job's grace, teardown,
        ``exit_grace`` and :data:`STOP_SLACK_S`. The platform's grace period between SIGTERM and
        SIGKILL (``terminationGracePeriodSeconds``) must be at least this.

        ``exit_grace`` is one bound for everything after teardown: the ``--pushgateway`` push and
        the trace flush, the standard library's thread hooks and lingering threads share it (the
        report takes what it needs first; the threads get the rest). Nothing else waits there
        beyond the fixed steps counted in :data:`STOP_SLACK_S`.
        """
        return self.cancel_grace + self.shutdown_timeout + exit_grace + STOP_SLACK_S


@dataclass(frozen=True)
class Schedule:
    """When a run is cancelled, when a job ignoring that is abandoned, how long teardown may take.

    Times are seconds since the job started. ``seconds_left`` is ``None`` without a deadline; then
    nothing is cancelled by time and teardown gets the whole ``shutdown_timeout``.
    """

    seconds_left: float | None
    budget: Budget = Budget()

    @property
    def margin(self) -> float:
        """The margin actually kept before the deadline.

        ``deadline_margin`` when there is room; for a short deadline (a 5 s ``activeDeadlineSeconds``)
        it shrinks to a quarter of the time left, so the job still gets most of its time — but not
        below the teardown budget while that fits in half the time left, so closing still ends
        before the deadline.
        """
        if self.seconds_left is None:
            return 0.0
        left = max(self.seconds_left, 0.0)
        floor = min(self.budget.shutdown_timeout, left / 2)
        return min(self.budget.deadline_margin, max(left * MAX_MARGIN_SHARE, floor))

    @property
    def cancel_at(self) -> float | None:
        """Seconds after start at which the job is cancelled (at once when already due)."""
        if self.seconds_left is None:
            return None
        return max(self.seconds_left - self.margin, 0.0)

    def is_short(self, min_seconds: float) -> bool:
        """Whether the job starts with less time than it needs: ``deadline.short``."""
        if self.seconds_left is None:
            return False
        return self.seconds_left < max(min_seconds, self.budget.deadline_margin)

    def cancel_grace(self, cancelled_at: float) -> float:
        """How long a job cancelled at ``cancelled_at`` may take to stop before it is abandoned.

        ``cancel_grace``, but before a deadline only as much as leaves the teardown budget in front
        of it — and never less than a quarter of the time that remains, so a job that unwinds
        quickly is not abandoned for want of a moment.
        """
        grace = self.budget.cancel_grace
        if self.seconds_left is None:
            return grace
        remaining = max(self.seconds_left - cancelled_at, 0.0)
        return min(grace, max(remaining - self.budget.shutdown_timeout, remaining * MAX_MARGIN_SHARE))

    def teardown_budget(self, now: float) -> float:
        """How long teardown starting at ``now`` may take: ``shutdown_timeout``, but ending early
        enough that a takeover of a stuck close and the exit still come before the deadline
        (:data:`TAKEOVER_SLACK_S` + :data:`EXIT_ALLOWANCE_S`) — and never less than
        :data:`MIN_TEARDOWN_S`."""
        budget = self.budget.shutdown_timeout
        if self.seconds_left is not None:
            budget = min(budget, self.seconds_left - now - TAKEOVER_SLACK_S - EXIT_ALLOWANCE_S)
        return max(budget, min(self.budget.shutdown_timeout, MIN_TEARDOWN_S))

    def takeover_after(self, now: float, budget: float) -> float:
        """Seconds after ``now`` at which the supervisor takes over a teardown (started at ``now``
        with ``budget``) that is stuck in a close: :data:`TAKEOVER_SLACK_S` after the budget, but
        never later than :data:`EXIT_ALLOWANCE_S` before the deadline — and never before the
        budget ends, so the teardown timer always gets its turn first."""
        delay = budget + TAKEOVER_SLACK_S
        if self.seconds_left is None:
            return delay
        return min(delay, max(self.seconds_left - now - EXIT_ALLOWANCE_S, budget))
