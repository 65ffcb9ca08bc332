"""Record the log events of a run for assertions, through the very pipeline production logs with.

structlog's ``capture_logs`` replaces the processor chain, so what it records has never been
redacted or rendered the way a deployment's logs are. :func:`capture_events` instead installs
jobframe's own chain (:func:`jobframe.logs.pipeline`, JSON flavour) — context variables, level,
logger name, timestamp, level filtering, structured exceptions, :class:`~jobframe.logs.Redact` —
and puts a recorder where the JSON renderer would be: an event a test reads is the dict that
production would have printed. Standard-library records (httpx's request lines) take their
production path too. structlog's events are handed to the recording handler directly rather than
through the root logger, so no other handler (pytest's log capture) sees one before redaction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from jobframe.logs import Redact, pipeline

__all__ = ["capture_events"]


class _Recorder:
    """The renderer's place at the end of the chain: keep the event, render nothing."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> str:
        self.events.append(dict(event_dict))
        return ""


class _Handler(logging.Handler):
    """Formats each record (which records it) and writes nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


class _Deliver:
    """In ``wrap_for_formatter``'s place: the record it would make, handed to ``handler`` only."""

    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        level = logging.getLevelName("WARNING" if method_name == "warn" else method_name.upper())
        level = logging.ERROR if method_name == "exception" else level
        if isinstance(level, int) and level >= self.handler.level:
            record = logging.LogRecord(getattr(logger, "name", ""), level, "", 0, event_dict, None, None)
            record._logger, record._name = logger, method_name
            self.handler.handle(record)
        raise structlog.DropEvent


@contextlib.contextmanager
def capture_events(redact: Redact, *, level: int = logging.INFO) -> Iterator[list[dict[str, Any]]]:
    """Record every event at ``level`` or above (structlog's and stdlib's) as production renders it.

    ``level`` plays ``--log-level``: lower events are dropped, as production drops them. The
    processor list is changed in place, as ``structlog.testing.capture_logs`` does, so loggers
    cached by an earlier configuration record too; everything is restored on exit. Like structlog's
    own helper this is process-global, not thread-isolated.
    """
    events: list[dict[str, Any]] = []
    chain = pipeline(redact, "json")
    config = structlog.get_config()
    processors: list[Processor] = config["processors"]
    saved_processors = list(processors)
    saved_factory, saved_wrapper = config["logger_factory"], config["wrapper_class"]
    handler = chain.attach(_Handler(level), _Recorder(events), level)
    *steps, handoff = chain.structlog_side
    assert handoff is structlog.stdlib.ProcessorFormatter.wrap_for_formatter
    processors[:] = [*steps, _Deliver(handler)]
    structlog.configure(
        processors=processors,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(min(saved_level, level))  # a lower level a test set (caplog) stays
    try:
        yield events
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        processors[:] = saved_processors
        structlog.configure(processors=processors, logger_factory=saved_factory, wrapper_class=saved_wrapper)
