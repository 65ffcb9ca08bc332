"""Every stdlib log record is made with its secrets already masked, whichever handler reads it.

jobframe's own handler masks secrets as it renders (:class:`jobframe.logs.Redact`, last in the
chain). A handler the job adds itself — a file, Sentry's, a ``logging.basicConfig`` of its own —
reads the same records through its own formatter, before any of that: a secret in a message, an
argument, a structlog event's fields or an exception's text reached it as it was. So the records
themselves are made masked, through the record factory (:func:`logging.setLogRecordFactory`, the
hook the standard library offers for this), once :func:`jobframe.logs.configure_logging` runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobframe.logs import Redact

__all__ = ["MaskedRecords"]

_PLAIN = (int, float, bool, type(None))


class MaskedRecords:
    """A record factory wrapping the one before it: masks what a formatter would print.

    ``msg`` and ``args`` are masked as :class:`~jobframe.logs.Redact` masks an event (sensitive
    keys of a mapping, known secret values in text); a message or argument of any other type (an
    exception, ``httpx.URL`` with a key in its query) is turned into its text only when that text
    holds a secret, and left alone when it has none (its ``str()`` raises: the handler reports it
    when it formats, as always — never the logging call). An
    exception's text is formatted once and masked (``exc_text``, which :class:`logging.Formatter`
    prints instead of formatting the exception again).
    """

    def __init__(self, make: Callable[..., logging.LogRecord], redact: Redact) -> None:
        self.make, self.redact = make, redact

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.make(*args, **kwargs)
        redact = self.redact
        record.msg = self._arg(record.msg)  # ``log.error(exc)``: the message is the object, printed as text
        if isinstance(record.args, Mapping):
            record.args = redact.scrub(record.args)
        elif record.args:
            record.args = tuple(self._arg(arg) for arg in record.args)
        if record.exc_info and redact.knows_secrets:
            record.exc_text = redact.scrub(logging.Formatter().formatException(record.exc_info))
        return record

    def _arg(self, arg: object) -> object:
        if isinstance(arg, str | Mapping):
            return self.redact.scrub(arg)
        if isinstance(arg, _PLAIN) or not self.redact.knows_secrets:
            return arg
        if isinstance(arg, list | tuple):
            masked = self.redact.scrub(arg)
            return tuple(masked) if isinstance(arg, tuple) else masked  # printed as it was: ``(1, 2)``
        try:
            text = str(arg)
        except Exception:  # noqa: BLE001 - the handler reports it when it formats, as without the factory
            return arg
        masked = self.redact.scrub(text)
        return masked if masked != text else arg

    @classmethod
    def install(cls, redact: Redact) -> None:
        """Make every record through this factory from now on; again: only ``redact`` changes."""
        current = logging.getLogRecordFactory()
        if isinstance(current, cls):
            current.redact = redact
        else:
            logging.setLogRecordFactory(cls(current, redact))
