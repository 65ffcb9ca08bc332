"""The ``console`` log format: lines for a person at a terminal, ending with one sentence.

JSON lines are for collectors; at a terminal a person wants to read. :class:`HumanConsole` is
structlog's console renderer with three changes: a field that is ``None`` is left out, a
``progress`` line reads in the order a person says it (``done/total``, percent, rate, ETA), and the
last line of a run — ``process.exit`` — is followed by one sentence saying how it went::

    SendPushFromFile succeeded in 15.9 s — 5000 recipients, 0 rejected

Colours only on a terminal and never when ``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from jobframe.observe.observer import EndpointCounts

__all__ = ["SEND_ENDPOINTS", "HumanConsole", "progress_text", "summary_line", "use_colors"]

SEND_ENDPOINTS = frozenset({"/messages/send", "/campaigns/trigger/send", "/canvas/trigger/send"})
"""Endpoints whose objects are recipients; any other endpoint's are counted as objects."""


def use_colors(stream: Any, environ: Mapping[str, str] = os.environ) -> bool:
    """Colours on a terminal, unless ``NO_COLOR`` is set to anything but the empty string."""
    if environ.get("NO_COLOR", ""):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _seconds(value: float) -> str:
    if value >= 3600:
        return f"{int(value // 3600)} h {int(value % 3600 // 60)} min"
    if value >= 60:
        return f"{int(value // 60)} min {int(value % 60)} s"
    return f"{value:.1f} s"


def progress_text(fields: Mapping[str, Any]) -> str:
    """``/messages/send 5000/20000 (25.0 %), 1234.5/s, ETA 12.2 s`` from a ``progress`` event."""
    done, total = fields.get("done"), fields.get("total")
    parts = [str(fields.get("operation", ""))]
    parts.append(f"{done}/{total}" if total is not None else f"{done}")
    if fields.get("percent") is not None:
        parts[-1] += f" ({fields['percent']} %)"
    text = " ".join(p for p in parts if p)
    if fields.get("rate_per_s") is not None:
        text += f", {fields['rate_per_s']}/s"
    if fields.get("finished"):
        text += f", done in {_seconds(float(fields.get('elapsed_s') or 0))}"
    elif fields.get("eta_s") is not None:
        text += f", ETA {_seconds(float(fields['eta_s']))}"
    return text


def summary_line(
    finished: Mapping[str, Any], counts: Mapping[str, EndpointCounts], exit_fields: Mapping[str, Any]
) -> str:
    """One sentence for the end of a run, from ``job.finished``, the Braze counts and ``process.exit``."""
    job = finished.get("job", "the job")
    status = str(finished.get("status", "ended")).replace("_", " ")
    duration = finished.get("duration_s")
    text = f"{job} {status}"
    if isinstance(duration, int | float):
        text += f" in {_seconds(float(duration))}"
    code = exit_fields.get("exit_code", finished.get("exit_code"))
    if code not in (None, 0):
        # the signal that ended the run: at exit (process.exit) or during the job (job.finished)
        reason = str(finished.get("reason", ""))
        signal = exit_fields.get("signal") or (reason if reason.startswith("SIG") else None)
        why = f", {signal}" if signal else ""
        text += f" (exit {code}{why})"
    sent = sum(c.objects_sent for c in counts.values())
    rejected = sum(c.objects_rejected for c in counts.values())
    unknown = sum(c.objects_ambiguous for c in counts.values())
    skipped = sum(c.ledger_skipped for c in counts.values())
    if sent or rejected or unknown or skipped:
        with_objects = {
            e for e, c in counts.items() if c.objects_sent or c.objects_rejected or c.objects_ambiguous
        }
        noun = "recipients" if with_objects and with_objects <= SEND_ENDPOINTS else "objects"
        text += f" — {sent} {noun}, {rejected} rejected"
        if unknown:
            text += f", {unknown} unknown"
        if skipped:
            text += f", {skipped} skipped (sent before)"
    return text


class HumanConsole:
    """structlog's console renderer, readable (module docstring); ``counts`` feeds the last line."""

    def __init__(
        self, colors: bool, counts: Callable[[], Mapping[str, EndpointCounts]] | None = None
    ) -> None:
        self._render = structlog.dev.ConsoleRenderer(colors=colors, sort_keys=False)
        self.counts = counts
        self._finished: dict[str, Any] | None = None

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> str:
        event_dict = {k: v for k, v in event_dict.items() if v is not None}
        event = event_dict.get("event")
        if event == "progress":
            kept = ("timestamp", "level", "logger", "job", "run_id")
            line = {k: event_dict[k] for k in kept if k in event_dict}
            line["event"] = f"progress {progress_text(event_dict)}"
            event_dict = line
        elif event == "job.finished":
            self._finished = dict(event_dict)
        rendered = str(self._render(logger, method_name, event_dict))
        if event == "process.exit" and self._finished is not None:
            counts = self.counts() if self.counts is not None else {}
            rendered += "\n" + summary_line(self._finished, counts, event_dict)
        return rendered
