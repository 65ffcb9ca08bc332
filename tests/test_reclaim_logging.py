"""``reclaim_logging``: the CLI's log lines back after a job configured logging its own way
(``basicConfig(force=True)``, ``dictConfig``, ``logging.disable``…). In-process; the process-level
promise is ``tests/lifecycle/test_outputs.py``."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Callable, Iterator

import pytest
import structlog

import jobframe.logs as logs_module
from jobframe.logs import configure_logging, get_logger, reclaim_logging


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """configure_logging as the CLI calls it, onto a string; everything put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    own = [logging.getLogger(name) for name in ("jobframe", "jobframe.teardown")]
    saved = [(lg.level, lg.disabled, lg.propagate) for lg in own]
    for lg in own:  # as in a fresh CLI process, whatever tests before this one did
        lg.setLevel(logging.NOTSET)
        lg.disabled, lg.propagate = False, True
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    structlog.configure(cache_logger_on_first_use=False)
    try:
        yield stream
    finally:
        logging.disable(logging.NOTSET)
        root.handlers[:] = handlers
        root.setLevel(level)
        for lg, (lv, disabled, propagate) in zip(own, saved, strict=True):
            lg.setLevel(lv)
            lg.disabled, lg.propagate = disabled, propagate
        logs_module._CONFIGURED.handler = None
        structlog.reset_defaults()


def _events(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["event"] for line in stream.getvalue().splitlines()]


def test_nothing_to_reclaim_when_the_job_left_logging_alone(configured: io.StringIO) -> None:
    assert reclaim_logging() == []


@pytest.mark.parametrize(
    ("reconfigure", "said"),
    [
        (lambda: logging.basicConfig(level=logging.WARNING, force=True), "handler removed"),
        (lambda: logging.getLogger().handlers.clear(), "handler removed"),  # noqa: PLW0108
        (lambda: logging.disable(logging.CRITICAL), "logging.disable(CRITICAL)"),
        (lambda: logging.getLogger().setLevel(logging.ERROR), "root logger at ERROR"),
        (
            lambda: setattr(logging.getLogger("jobframe.teardown"), "disabled", True),
            "jobframe.teardown disabled",
        ),
        (lambda: setattr(logging.getLogger("jobframe"), "propagate", False), "jobframe not propagating"),
        (lambda: logging.getLogger("jobframe").setLevel(logging.CRITICAL), "jobframe at CRITICAL"),
        (
            lambda: logging.config.dictConfig(
                {"version": 1, "handlers": {}, "root": {"level": "WARNING", "handlers": []}}
            ),
            "jobframe.teardown disabled",
        ),
        (
            lambda: structlog.configure(
                processors=[structlog.processors.KeyValueRenderer()],
                logger_factory=structlog.PrintLoggerFactory(),
            ),
            "structlog.configure",
        ),
        (structlog.reset_defaults, "structlog.configure"),
    ],
)
def test_what_a_job_changed_is_undone_for_jobframes_lines(
    configured: io.StringIO, reconfigure: Callable[[], None], said: str
) -> None:
    get_logger("jobframe.teardown").info("before")
    reconfigure()
    get_logger("jobframe.teardown").info("silenced")
    assert "silenced" not in _events(configured)

    undone = reclaim_logging()

    assert any(said in what for what in undone), undone
    get_logger("jobframe.teardown").info("resource.closed")
    get_logger("jobframe").info("process.exit")
    assert _events(configured)[-2:] == ["resource.closed", "process.exit"]
    assert reclaim_logging() == []  # once undone, nothing left to undo


def test_without_configure_logging_nothing_is_touched() -> None:
    root = logging.getLogger()
    handlers = root.handlers[:]
    assert reclaim_logging() == []
    assert root.handlers == handlers


def test_a_handler_whose_filter_raises_never_stops_jobframes_line(configured: io.StringIO) -> None:
    # a filter written for the job's own records: it reads an attribute jobframe's do not carry
    own = logging.StreamHandler(io.StringIO())
    own.addFilter(lambda record: record.request_id)  # type: ignore[attr-defined]
    root = logging.getLogger()
    root.handlers.insert(0, own)  # before jobframe's, as after a basicConfig(force=True) and the reclaim

    get_logger("jobframe").warning("deadline.reached")  # raised out of the call (a signal handler)
    get_logger("jobframe.teardown").info("resource.closed")

    assert _events(configured) == ["deadline.reached", "resource.closed"]
    with pytest.raises(AttributeError):  # the job's own loggers behave as the standard library's
        logging.getLogger("acme").warning("its own line")
