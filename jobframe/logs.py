"""Logging: one structlog pipeline for jobframe, jobs and every stdlib logger (httpx included).

JSON lines on stdout by default — what log collectors in a cluster parse — or a readable console
rendering. Every line passes :class:`Redact` last before rendering, so a secret cannot reach the
output through a key name, a known value, or an exception message.

jobframe's library modules (the Braze and HTTP clients) log through :func:`library_logger`: inside
a job their events join this pipeline; in a plain script that configured nothing they print
nothing, as a library should (the ``jobframe`` stdlib logger carries a ``NullHandler``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from jobframe._log_records import MaskedRecords
from jobframe._log_stream import LineHandler, has_room, takes_line_now

__all__ = [
    "MASK",
    "ErrorFields",
    "LogFormat",
    "Pipeline",
    "Redact",
    "configure_logging",
    "flush_logging",
    "get_logger",
    "library_logger",
    "pipeline",
    "reclaim_logging",
]

MASK = "***"

SENSITIVE_KEY_PARTS = (
    "authorization",
    "api_key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "cookie",
    "credential",
    "private_key",
)

NOT_SENSITIVE = frozenset(
    {
        "tokens_used",
        "max_tokens",
        "token_count",
        "total_tokens",
        "prompt_tokens",
        "completion_tokens",
        "token_type",
    }
)
"""Keys that contain a sensitive word but never hold a secret (usage counters)."""

LogFormat = Literal["json", "console"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")  # maxTokens -> max_Tokens


# The stdlib convention for libraries: without it, Python's last-resort handler would print the
# warnings of an unconfigured process to stderr.
logging.getLogger("jobframe").addHandler(logging.NullHandler())

QUIET_INFO = frozenset({"httpx"})
"""stdlib loggers whose INFO lines are one per request: shown only at DEBUG (bulk jobs send thousands)."""


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; the same call jobs use (``jobframe.get_logger(__name__)``)."""
    return structlog.get_logger(name)


class _LibraryLogger:
    """structlog when the application configured it, otherwise the stdlib logger of the same name."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._stdlib = logging.getLogger(name)
        self._structlog: Any = structlog.get_logger(name)

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if structlog.is_configured():
            self._structlog.log(level, event, **fields)
        elif self._stdlib.isEnabledFor(level):
            detail = " ".join(f"{k}={v!r}" for k, v in fields.items())
            self._stdlib.log(level, "%s %s", event, detail)

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def __repr__(self) -> str:
        return f"library_logger({self._name!r})"


def library_logger(name: str) -> _LibraryLogger:
    """The logger of a jobframe library module: silent unless the application configures logging."""
    return _LibraryLogger(name)


class ErrorFields:
    """Add the structured fields an exception offers (``log_fields()``) to the line that logs it.

    ``job.finished`` logs the job's error with ``exc_info``; an error that knows more than its
    message (a Braze bulk call's delivery report) puts it into the same line as fields.
    """

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        error = event_dict.get("exc_info")
        fields = getattr(error, "log_fields", None)
        if isinstance(error, BaseException) and callable(fields):
            for key, value in fields().items():
                event_dict.setdefault(key, value)
        return event_dict


class _QuietInfo(logging.Filter):
    """Turn per-request INFO lines of :data:`QUIET_INFO` loggers into DEBUG ones."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self._level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.name.partition(".")[0] in QUIET_INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self._level <= logging.DEBUG
        return True


class Redact:
    """Mask the values of sensitive keys and every occurrence of a known secret value.

    Keys match by substring, case-insensitively and ignoring ``_``/``-`` (``X-Api-Key``,
    ``accessToken``, ``dbpassword``): masking a harmless key costs little, missing a secret a lot.
    A few well-known counters (``tokens_used``, ``max_tokens``, …) are exempt.
    Known values are added once settings are loaded (every ``SecretStr`` in them), which catches
    a secret echoed inside a URL, a message or a traceback.
    """

    def __init__(self, key_parts: Iterable[str] = SENSITIVE_KEY_PARTS) -> None:
        self._key_parts = tuple(p.lower().replace("_", "") for p in key_parts)
        self._secrets: tuple[str, ...] = ()

    def add_secrets(self, values: Iterable[str]) -> None:
        """Remember secret values to mask wherever they appear; short values are ignored as too common."""
        found = {v for v in values if len(v) >= 4}
        self._secrets = tuple(sorted(set(self._secrets) | found, key=len, reverse=True))

    @property
    def knows_secrets(self) -> bool:
        """Whether any secret value was added (before settings load, only keys are masked)."""
        return bool(self._secrets)

    def is_sensitive(self, key: str) -> bool:
        """``api_key``, ``X-Api-Key``, ``accessToken``, ``dbpassword``: yes; ``tokens_used``: no."""
        k = _CAMEL.sub("_", key).lower().replace("-", "_")
        return k not in NOT_SENSITIVE and any(
            part in k.replace("_", "") or part in k for part in self._key_parts
        )

    def scrub(self, value: Any) -> Any:
        """Return ``value`` with secrets masked; containers are copied, never changed in place."""
        if isinstance(value, str):
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, MASK)
            return value
        if isinstance(value, MutableMapping | dict):
            return {
                k: MASK if isinstance(k, str) and self.is_sensitive(k) else self.scrub(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        return self.scrub(event_dict)  # type: ignore[no-any-return]


def _timestamp() -> Processor:
    return structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp")


@dataclass(frozen=True)
class Pipeline:
    """Every step a log event passes before it is rendered: the one chain production and tests share.

    structlog events run ``structlog_side`` and are handed to the stdlib handler; stdlib records
    (httpx's) run ``foreign_pre_chain`` instead; both then run ``formatter_side`` (exception
    rendering, :class:`Redact` last) and reach the renderer. ``jobframe.testing`` records events
    through this very chain, with a recorder in the renderer's place.
    """

    foreign_pre_chain: list[Processor]
    structlog_side: list[Processor]
    formatter_side: list[Processor]

    def attach(self, handler: logging.Handler, renderer: Processor, level: int) -> logging.Handler:
        """Make ``handler`` end the chain with ``renderer``, with the same filters as production's
        (per-request INFO lines of chatty libraries shown only at DEBUG)."""
        handler.addFilter(_QuietInfo(level))
        handler.setFormatter(self.formatter(renderer))
        return handler

    def formatter(self, renderer: Processor) -> structlog.stdlib.ProcessorFormatter:
        """The stdlib formatter that ends the chain with ``renderer``."""
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=self.foreign_pre_chain,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *self.formatter_side,
                renderer,
            ],
        )


def pipeline(redact: Redact, fmt: LogFormat = "json") -> Pipeline:
    """The processors of jobframe's logging for ``fmt``, with ``redact`` last before rendering."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _timestamp(),
        ErrorFields(),
    ]
    if fmt == "json":
        # Structured tracebacks without locals: a local variable may hold a secret.
        tracebacks = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        tail: list[Processor] = [structlog.processors.ExceptionRenderer(tracebacks), redact]
    else:
        tail = [structlog.processors.format_exc_info, redact]
    return Pipeline(
        foreign_pre_chain=shared,
        structlog_side=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        formatter_side=tail,
    )


def configure_logging(
    fmt: LogFormat = "json",
    level: str | int = "INFO",
    stream: TextIO | None = None,
    redact: Redact | None = None,
    console: Processor | None = None,
) -> Redact:
    """Configure structlog and the stdlib root logger once for the process; returns the redactor.

    ``console``: the renderer of the console format (default: :class:`jobframe.console.HumanConsole`).
    """
    redact = redact or Redact()
    stream = stream or sys.stdout
    chain = pipeline(redact, fmt)
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    elif console is not None:
        renderer = console
    else:
        from jobframe.console import HumanConsole, use_colors  # noqa: PLC0415 - console runs only

        renderer = HumanConsole(colors=use_colors(stream))

    numeric = level if isinstance(level, int) else logging.getLevelNamesMapping()[level.upper()]
    handler = chain.attach(LineHandler(stream), renderer, numeric)
    _CONFIGURED.handler, _CONFIGURED.level = handler, numeric
    MaskedRecords.install(redact)  # a handler the job adds itself reads masked records too
    logging.raiseExceptions = False  # a closed stdout must not turn into tracebacks on stderr
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)

    structlog.configure(
        processors=chain.structlog_side,
        logger_factory=_LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _CONFIGURED.structlog = {
        key: _copy(value) for key, value in structlog.get_config().items() if key in _RENDERING
    }
    return redact


_RENDERING = ("processors", "context_class", "wrapper_class", "logger_factory")
"""What of structlog's configuration decides how and where a line is written."""


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value  # a list changed in place is found too


def _is_own(name: str) -> bool:
    return name == "jobframe" or name.startswith("jobframe.")


class _LoggerFactory(structlog.stdlib.LoggerFactory):
    """structlog's stdlib logger factory, with jobframe's own loggers (``jobframe``, ``jobframe.*``)
    handing each line to every handler though one of them raises.

    A handler a job adds with a filter written for its own records (``record.request_id``)
    raises on jobframe's — in ``Handler.handle``, which the standard library does not guard —
    and the exception escaped jobframe's logging call: ``job.finished``, a deadline's warning in
    a signal handler, ``process.exit``; a finished job exited 1 with a traceback. For jobframe's
    lines the failing handler is skipped, as :meth:`logging.Handler.handleError` skips one that
    fails to write (silently: ``logging.raiseExceptions`` is off), and so is a stream handler of
    the job's whose pipe is full (:func:`~jobframe._log_stream.takes_line_now`); the job's own
    loggers are left as they are.
    """

    def __call__(self, *args: Any) -> logging.Logger:
        logger = super().__call__(*args)
        if _is_own(logger.name) and "callHandlers" not in vars(logger):
            vars(logger)["callHandlers"] = functools.partial(_call_every_handler, logger)
        return logger


def _call_every_handler(logger: logging.Logger, record: logging.LogRecord) -> None:
    """:meth:`logging.Logger.callHandlers`, with each handler's exception contained."""
    found = 0
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            found += 1
            if record.levelno >= handler.level and takes_line_now(handler):
                with contextlib.suppress(Exception):
                    handler.handle(record)
        current = current.parent if current.propagate else None
    if not found and logging.lastResort is not None and record.levelno >= logging.lastResort.level:
        logging.lastResort.handle(record)


@dataclass
class _Configured:
    """What :func:`configure_logging` installed, for :func:`reclaim_logging` to put back."""

    handler: logging.Handler | None = None
    level: int = logging.INFO
    structlog: dict[str, Any] = field(default_factory=dict)


_CONFIGURED = _Configured()


def reclaim_logging() -> list[str]:
    """Undo what job code changed of the logging jobframe configured, so that jobframe's own
    lines — ``job.finished``, teardown's, ``process.exit`` — are written as documented; returns
    what was undone (nothing when :func:`configure_logging` never ran: the testing toolkit's runs).

    Jobs and libraries configure logging their own way — ``logging.basicConfig(force=True)``,
    ``logging.config.dictConfig`` (which also disables every logger it does not name),
    ``logging.disable``, ``structlog.configure`` with a renderer of their own — and each silenced
    (or reshaped) the lines the exit code is read with. Their own handlers stay: a line goes to
    them too.
    """
    handler, level = _CONFIGURED.handler, _CONFIGURED.level
    if handler is None:
        return []
    undone: list[str] = []
    root = logging.getLogger()
    if handler not in root.handlers:
        root.addHandler(handler)
        undone.append("jobframe's handler removed from the root logger")
    if root.manager.disable >= level:
        undone.append(f"logging.disable({logging.getLevelName(root.manager.disable)})")
        logging.disable(logging.NOTSET)
    for name, logger in list(root.manager.loggerDict.items()):
        if not _is_own(name) or not isinstance(logger, logging.Logger):
            continue
        if logger.disabled or not logger.propagate:
            undone.append(f"logger {name} {'disabled' if logger.disabled else 'not propagating'}")
            logger.disabled, logger.propagate = False, True
        if logger.level > level:
            undone.append(f"logger {name} at {logging.getLevelName(logger.level)}")
            logger.setLevel(level)
    own = logging.getLogger("jobframe")
    if own.getEffectiveLevel() > level:
        undone.append(f"root logger at {logging.getLevelName(own.getEffectiveLevel())}")
        own.setLevel(level)
    current = structlog.get_config()
    if any(current[key] != value for key, value in _CONFIGURED.structlog.items()):
        # structlog.configure / reset_defaults of the job's: jobframe's lines went to its renderer
        undone.append("structlog.configure")
        structlog.configure(**{key: _copy(value) for key, value in _CONFIGURED.structlog.items()})
    return undone


HANDLER_LOCK_WAIT_S = 0.2
"""How long the end of the process waits for a log handler another thread holds (one that will
never let go: an abandoned exit hook) before it goes on without it."""


def all_handlers() -> list[logging.Handler]:
    """Every live handler (the root's first), as ``logging.shutdown`` would find them."""
    found: list[logging.Handler] = list(logging.getLogger().handlers)
    for ref in list(getattr(logging, "_handlerList", [])):
        handler = ref()
        if handler is not None and handler not in found:
            found.append(handler)
    return found


def hold_handler(handler: logging.Handler) -> bool:
    """Take ``handler``'s lock unless another thread keeps it past :data:`HANDLER_LOCK_WAIT_S`."""
    lock = handler.lock
    return lock is None or lock.acquire(timeout=HANDLER_LOCK_WAIT_S)


def flush_logging() -> None:
    """Flush every handler (what ``logging.shutdown`` would, which jobframe does not run in an
    exit-hook thread) and the standard streams; called right before the process ends. A handler
    whose lock another thread keeps is skipped, never waited for without end."""
    for handler in all_handlers():
        if not hold_handler(handler):
            continue
        try:
            with contextlib.suppress(Exception):  # a broken stream must not stop the exit
                handler.flush()
        finally:
            if handler.lock is not None:
                handler.lock.release()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if has_room(stream.fileno(), 0.0):  # a full pipe would hold the exit for ever
                stream.flush()
