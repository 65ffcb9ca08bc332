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

__all__ = ["Shortfall", "argo_int", "parse_duration", "retry_shortfalls"]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_WHOLE = re.compile(r"[+-]?[0-9]+")
"""What Go's ``strconv.Atoi`` reads: a sign and digits, no space, no point."""


def argo_int(value: object) -> int:
    """An IntOrString as Argo reads it (``Int`` in ``util/intstr/parametrizable.go``): an integer,
    or a string of one (``strconv.Atoi``); ``"1.5"`` or ``" 2"`` make Argo fail the field."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _WHOLE.fullmatch(value):
        return int(value)
    raise ValueError(f"{value!r} is not a whole number")


def parse_duration(text: str | int | float) -> float:
    """Seconds of an Argo duration as the controller reads it (``ParseStringToDuration`` in
    ``pkg/apis/workflow/v1alpha1/utils.go``): whole seconds (``"30"``, ``strconv.Atoi``) or Go's
    form (``"1h30m"``, ``"1.5h"``, ``time.ParseDuration``). Anything else (``"1.5"``, ``" 30"``)
    makes Argo fail the step when it first needs the value: at its first retry."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration")
    if isinstance(text, int | float):  # not a string: the schema reports the type
        seconds = float(text)
    elif _WHOLE.fullmatch(text):
        seconds = float(int(text))
    else:
        pos, seconds = 0, 0.0
        while pos < len(text):
            match = _PART.match(text, pos)
            if match is None:
                raise ValueError(f"{text!r} is not a duration (e.g. 90, 90s, 5m, 1h30m)")
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if not text:
            raise ValueError("an empty string is not a duration")
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
