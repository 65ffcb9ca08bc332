"""Record the log events of a run, after redaction, for assertions.

structlog's ``capture_logs`` replaces the whole processor chain, so what it records has never
been redacted: a test could not prove that a secret stays out of the logs. :func:`capture_events`
instead runs the events through the same steps that matter for content — context variables
(``job``, ``run_id``), level, logger name, an error's own fields (:class:`~jobframe.logs.ErrorFields`),
exception formatting and :class:`~jobframe.logs.Redact` — and records the result.
Standard-library records (httpx's request lines) are captured the same way.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from jobframe.logs import ErrorFields, Redact

__all__ = ["capture_events"]


def _logger_name(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    name = getattr(logger, "name", None)
    if isinstance(name, str) and "logger" not in event_dict:
        event_dict["logger"] = name
    return event_dict


class _Recorder:
    """The last processor: keep the event, render nothing."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        self.events.append(dict(event_dict))
        raise structlog.DropEvent


class _StdlibRecorder(logging.Handler):
    """Turns stdlib records into events shaped like structlog's, through the same redaction."""

    def __init__(self, events: list[dict[str, Any]], redact: Redact) -> None:
        super().__init__(logging.DEBUG)
        self.events, self.redact = events, redact

    def emit(self, record: logging.LogRecord) -> None:
        event: dict[str, Any] = {
            "event": record.getMessage(),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.exc_info:
            event["exception"] = logging.Formatter().formatException(record.exc_info)
        event.update(structlog.contextvars.get_contextvars())
        self.events.append(self.redact.scrub(event))


@contextlib.contextmanager
def capture_events(redact: Redact, *, stdlib_level: int = logging.INFO) -> Iterator[list[dict[str, Any]]]:
    """Record every structlog event (and stdlib record at ``stdlib_level`` or above), redacted.

    The processor list is changed in place, as ``structlog.testing.capture_logs`` does, so loggers
    cached by an earlier ``configure_logging`` record too; everything is restored on exit. Like
    structlog's own helper this is process-global, not thread-isolated.
    """
    events: list[dict[str, Any]] = []
    config = structlog.get_config()
    processors: list[Processor] = config["processors"]
    saved_processors = list(processors)
    saved_factory, saved_wrapper = config["logger_factory"], config["wrapper_class"]
    processors[:] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _logger_name,
        ErrorFields(),
        structlog.processors.format_exc_info,
        redact,
        _Recorder(events),
    ]
    # A stdlib logger factory gives each event its logger's name; the BoundLogger passes all levels.
    structlog.configure(
        processors=processors,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    root = logging.getLogger()
    handler = _StdlibRecorder(events, redact)
    handler.setLevel(stdlib_level)
    saved_level = root.level
    root.addHandler(handler)
    if saved_level != logging.NOTSET:  # NOTSET on the root already lets everything through
        root.setLevel(min(saved_level, stdlib_level))
    try:
        yield events
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        processors[:] = saved_processors
        structlog.configure(processors=processors, logger_factory=saved_factory, wrapper_class=saved_wrapper)
