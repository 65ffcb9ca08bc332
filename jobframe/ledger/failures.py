"""What a ledger store's failure means for the run: wait and retry (75), or fix something (78).

A store that is briefly unreachable — PostgreSQL restarting, a connection refused or timed out, a
SQLite file locked by another process for longer than ``ledger.timeout``, a full disk — may work
on the next attempt, so the attempt exits 75 and Argo retries it. Only a store that cannot work as
configured — a malformed DSN or one of its values (a port, an ``sslmode``), a refused login, a
database that does not exist, a schema newer than this jobframe, a damaged SQLite file — is a
configuration error (78): a retry would fail the same way. Messages are one line and never carry
the DSN (:func:`jobframe.ledger.store.describe`).
"""

from __future__ import annotations

import errno
import re
import sqlite3

from jobframe.errors import ConfigurationError, JobframeError, RetryableError

__all__ = ["LedgerDamagedError", "classify"]


class LedgerDamagedError(ConfigurationError):
    """The ledger fails an integrity check or has lost the record of a run it should hold (78)."""


_TRANSIENT_SQLITE = ("locked", "busy", "disk i/o error", "disk is full", "database or disk is full")
_DAMAGED_SQLITE = ("malformed", "not a database", "corrupt")
_PERMANENT_POSTGRES = (
    "authentication failed",
    "no password supplied",
    "does not exist",
    "pg_hba.conf",
    "permission denied",
    "invalid connection option",
    "invalid dsn",
    'missing "="',
    "invalid port number",
    "servname not supported",  # a port that is not a number
)
_INVALID_VALUE = re.compile(r"invalid [\w ]+ value")
"""libpq refusing a DSN's value (``invalid sslmode value``, ``invalid integer value … for
connection option``): the same DSN fails the same way on every attempt."""
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "40", "55")
"""Connection exceptions, insufficient resources (disk full), operator intervention (shutdown,
cancelled by statement_timeout), transaction rollback (deadlock), lock not available."""
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.EAGAIN, errno.ETIMEDOUT}


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` from a store may go away by itself (a retry can succeed)."""
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    if isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        return any(part in text for part in _TRANSIENT_SQLITE)
    if isinstance(exc, OSError):
        return exc.errno in _TRANSIENT_ERRNOS
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES
    module = type(exc).__module__
    if module.startswith("psycopg") and type(exc).__name__ == "OperationalError":
        # libpq's failures to connect carry no SQLSTATE: refused, timed out, the server starting
        # or shutting down are transient; a refused login or a database that does not exist is not
        text = str(exc).lower()
        return not (any(part in text for part in _PERMANENT_POSTGRES) or _INVALID_VALUE.search(text))
    return False


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the SQLite file is not a sound database."""
    return isinstance(exc, sqlite3.DatabaseError) and any(p in str(exc).lower() for p in _DAMAGED_SQLITE)


def classify(exc: BaseException, message: str) -> JobframeError:
    """The error to raise for a store failure ``exc`` described by ``message`` (one line)."""
    if isinstance(exc, JobframeError):
        return exc
    if is_damage(exc):
        return LedgerDamagedError(
            f"{message} — the ledger file is damaged; it cannot tell what earlier attempts sent. "
            "Keep it for inspection and do not resume blindly (docs/resume.md, 'A lost or damaged ledger')"
        )
    if is_transient(exc):
        return RetryableError(f"{message} (transient: a later attempt may succeed, exit 75)")
    return ConfigurationError(message)
