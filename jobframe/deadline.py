"""Work out the effective deadline of one attempt from every place that sets one.

``--timeout`` (seconds from start: what a template's ``activeDeadlineSeconds`` should pass),
``--deadline`` (an RFC 3339 instant) and ``ARGO_DEADLINE`` (the workflow's, already shrunk for
retries by Argo). The earliest wins; Argo's zero time means "no deadline".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["ARGO_ZERO_TIME", "Deadline", "effective_deadline", "parse_rfc3339"]

ARGO_ZERO_TIME = "0001-01-01T00:00:00Z"


def parse_rfc3339(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp (``Z`` or an offset); ``None`` for Argo's zero time.

    Raises ``ValueError`` for anything else, including a timestamp without a time zone, since
    guessing the zone would move the deadline by hours.
    """
    text = value.strip()
    if text in (ARGO_ZERO_TIME, "0001-01-01T00:00:00+00:00"):
        return None
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone (expected e.g. 2026-08-21T14:00:00Z)")
    if parsed.year <= 1:
        return None
    return parsed.astimezone(UTC)


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
