"""What a ledger store's failure means: retry (75) or fix the configuration (78). Pure, mutation-tested."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from jobframe.errors import ConfigurationError, RetryableError, UsageError
from jobframe.ledger.failures import LedgerDamagedError, classify, is_damage, is_transient


class _SqlstateError(Exception):
    """An error with a SQLSTATE, as psycopg raises them."""

    def __init__(self, sqlstate: object) -> None:
        super().__init__("failed")
        self.sqlstate = sqlstate


OperationalError = type("OperationalError", (Exception,), {"__module__": "psycopg"})
"""What libpq's failures to connect arrive as: no SQLSTATE, only text."""


@pytest.mark.parametrize(
    ("sqlstate", "transient"),
    [
        ("08006", True),  # connection failure
        ("08001", True),
        ("53100", True),  # disk full
        ("53300", True),  # too many connections
        ("57P01", True),  # admin shutdown
        ("57P03", True),  # cannot connect now (starting up)
        ("57014", True),  # query cancelled: statement_timeout
        ("40P01", True),  # deadlock
        ("55P03", True),  # lock not available
        ("28P01", False),  # invalid password
        ("3D000", False),  # no such database
        ("42501", False),  # insufficient privilege
        ("42P01", False),  # undefined table
        ("", False),
        (None, False),
        (8006, False),  # not a SQLSTATE at all
    ],
)
def test_a_sqlstate_class_says_whether_a_failure_may_pass(sqlstate: object, transient: bool) -> None:
    assert is_transient(_SqlstateError(sqlstate)) is transient


@pytest.mark.parametrize(
    ("text", "transient"),
    [
        ('connection to server at "db" (10.0.0.5), port 5432 failed: Connection refused', True),
        ("connection to server on socket /run/x/.s.PGSQL.5432 failed: No such file or directory", True),
        ("timeout expired", True),
        ("the database system is starting up", True),
        ('FATAL:  password authentication failed for user "u"', False),
        ("fe_sendauth: no password supplied", False),
        ('FATAL:  database "nope" does not exist', False),
        ('FATAL:  role "r" does not exist', False),
        ('no pg_hba.conf entry for host "10.0.0.9"', False),
        ("permission denied for database jobs", False),
        ('invalid connection option "sslmod"', False),
        ('invalid dsn: missing "=" after "x" in connection info string', False),
        ('missing "=" after "x" in connection info string', False),
        ('connection is bad: invalid port number: "99999"', False),  # libpq's checks of a DSN's values
        ('connection is bad: invalid sslmode value: "bogus"', False),
        ('connection is bad: invalid target_session_attrs value: "x"', False),
        ('invalid integer value "abc" for connection option "keepalives"', False),
        ("failed to resolve host 'db': [Errno -8] Servname not supported for ai_socktype", False),
        ("failed to resolve host 'db': [Errno -3] Temporary failure in name resolution", True),
    ],
)
def test_a_failure_to_connect_is_transient_unless_the_configuration_is_wrong(
    text: str, transient: bool
) -> None:
    assert is_transient(OperationalError(text)) is transient
    assert is_transient(OperationalError(text.upper())) is transient  # the words, in any case


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("database table is locked"), True),
        (sqlite3.OperationalError("database is busy"), True),
        (sqlite3.OperationalError("disk I/O error"), True),
        (sqlite3.OperationalError("database or disk is full"), True),
        (sqlite3.OperationalError("unable to open database file"), False),
        (sqlite3.OperationalError("no such table: x"), False),
        (sqlite3.DatabaseError("file is not a database"), False),
        (TimeoutError(), True),
        (ConnectionRefusedError(), True),
        *(
            (OSError(code, "x"), True)
            for code in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.EAGAIN, errno.ETIMEDOUT)
        ),
        (OSError(errno.EACCES, "x"), False),
        (OSError(errno.ENOENT, "x"), False),
        (ValueError("x"), False),
        (type("OperationalError", (Exception,), {})("Connection refused"), False),  # not psycopg's
        (type("Other", (Exception,), {"__module__": "psycopg"})("Connection refused"), False),
    ],
)
def test_store_errors_by_kind(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


@pytest.mark.parametrize(
    ("error", "damaged"),
    [
        (sqlite3.DatabaseError("database disk image is malformed"), True),
        (sqlite3.DatabaseError("file is not a database"), True),
        (sqlite3.DatabaseError("file is encrypted or is not a database"), True),
        (sqlite3.DatabaseError("database corrupt at page 3"), True),
        (sqlite3.OperationalError("database is locked"), False),
        (ValueError("malformed"), False),  # only SQLite's own errors speak of its file
    ],
)
def test_a_damaged_sqlite_file_is_recognised(error: BaseException, damaged: bool) -> None:
    assert is_damage(error) is damaged


def test_classify_turns_a_failure_into_the_error_of_its_exit_code() -> None:
    kept = UsageError("as it was")
    assert classify(kept, "m") is kept  # already says what it means
    damaged = classify(sqlite3.DatabaseError("database disk image is malformed"), "ledger: cannot open x")
    assert isinstance(damaged, LedgerDamagedError) and damaged.exit_code == 78
    assert str(damaged).startswith("ledger: cannot open x — the ledger file is damaged")
    assert str(damaged).endswith(
        "Keep it for inspection and do not resume blindly (docs/resume.md, 'A lost or damaged ledger')"
    )
    transient = classify(sqlite3.OperationalError("database is locked"), "ledger: cannot open x")
    assert type(transient) is RetryableError and transient.exit_code == 75
    assert str(transient) == "ledger: cannot open x (transient: a later attempt may succeed, exit 75)"
    permanent = classify(ValueError("bad"), "ledger: cannot open x")
    assert type(permanent) is ConfigurationError and str(permanent) == "ledger: cannot open x"
