"""When a retry can start, and with how much time: the arithmetic behind the deadline trap.

Argo starts retry ``k`` after ``k`` failed attempts and their back-off waits. With
``backoff.maxDuration`` (or a workflow ``activeDeadlineSeconds``) it gives that attempt only what
is left of the window, counted from the first attempt's start — through ``ARGO_DEADLINE``. An
attempt may fail at once or only at its own deadline, so retry ``k`` can start anywhere between
``waits(k)`` and ``k * timeout + waits(k)``; Argo still starts it while the window is open. If
the latest start leaves less than the job needs (``Budget.attempt_needs``), some retry can begin
with almost nothing left and die of its deadline: the story behind this project.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Shortfall", "parse_duration", "retry_shortfalls"]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str | int | float) -> float:
    """Seconds of an Argo duration: a number of seconds (``"30"``, ``30``) or Go's form (``"1h30m"``)."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        value = text.strip()
        try:
            seconds = float(value)
        except ValueError:
            pos, seconds = 0, 0.0
            while pos < len(value):
                match = _PART.match(value, pos)
                if match is None:
                    raise ValueError(f"{text!r} is not a duration (e.g. 90, 90s, 5m, 1h30m)") from None
                seconds += float(match.group(1)) * _UNITS[match.group(2)]
                pos = match.end()
            if not value:
                raise ValueError("an empty string is not a duration") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{text!r} is not a duration >= 0")
    return seconds


@dataclass(frozen=True)
class Shortfall:
    """Retry ``retry`` can start with only ``left`` seconds of the window; the job needs ``needs``."""

    retry: int
    earliest: float
    latest: float
    left: float
    needs: float


def retry_shortfalls(
    *,
    timeout: float,
    limit: int,
    wait: Callable[[int], float],
    window: float,
    needs: float,
) -> list[Shortfall]:
    """Every retry (1..``limit``) that Argo may start inside ``window`` with less than ``needs`` left.

    ``timeout`` is one attempt's deadline, ``wait(k)`` the back-off before retry ``k`` and
    ``window`` the seconds from the first attempt's start until ``ARGO_DEADLINE``.
    """
    found: list[Shortfall] = []
    waited = 0.0
    for retry in range(1, limit + 1):
        waited += wait(retry)
        earliest = waited
        if earliest >= window:
            break  # Argo never starts it: the window closed during the waits alone
        latest = retry * timeout + waited
        left = max(window - latest, 0.0)
        if left < needs:
            found.append(Shortfall(retry, earliest, latest, left, needs))
    return found
