"""The pure decisions behind the lifecycle, 3: which exit code an outcome gets
(``jobframe._run.outcome.exit_code``). Exact values, so a mutation run cannot slip past."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from jobframe._run.outcome import EscapedExit, as_error, exit_code
from jobframe.errors import ConfigurationError, JobInterrupted, RetryableError, UsageError
from jobframe.exit_codes import ExitCode

# -- which exit code an outcome gets ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, ExitCode.SUCCEEDED),
        (ValueError("boom"), ExitCode.FAILED),
        (UsageError("x"), ExitCode.USAGE),
        (RetryableError("x"), ExitCode.RETRYABLE),
        (ConfigurationError("x"), ExitCode.CONFIG),
        (JobInterrupted("deadline", ExitCode.DEADLINE), ExitCode.DEADLINE),
        (KeyboardInterrupt(), ExitCode.SIGINT),
        (SystemExit(3), ExitCode.FAILED),
    ],
)
def test_exit_code_for_an_outcome(error: BaseException | None, expected: ExitCode) -> None:
    assert exit_code(error) is expected


@pytest.mark.parametrize("error", [None, ValueError("boom"), RetryableError("x")])
def test_an_interruption_wins_over_what_the_job_did(error: BaseException | None) -> None:
    assert exit_code(error, JobInterrupted("SIGTERM", ExitCode.SIGTERM)) is ExitCode.SIGTERM


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SystemExit(0), None),
        (SystemExit(None), None),
        (EscapedExit(SystemExit(0)), None),
        (SystemExit(2), "SystemExit(2)"),
        (EscapedExit(KeyboardInterrupt()), "KeyboardInterrupt()"),
        (ValueError("x"), "ValueError('x')"),
        (None, None),
    ],
)
def test_sys_exit_zero_in_a_job_is_success_and_escaped_exits_are_unwrapped(
    error: BaseException | None, expected: str | None
) -> None:
    got = as_error(error)
    assert (repr(got) if got is not None else None) == expected


@pytest.mark.parametrize("code", [0.0, "", "0", Decimal(0), Fraction(0), -0.0, 0j])
def test_a_sys_exit_value_only_equal_to_zero_is_a_failure(code: object) -> None:
    """Python exits 0 for ``sys.exit(None)`` and an ``int`` 0 (``False`` too) only; any other value
    — ``0.0``, ``Decimal(0)``, a string — is printed and exits 1 (README: any other value fails)."""
    error = SystemExit(code)
    assert as_error(error) is error
    assert exit_code(as_error(error)) is ExitCode.FAILED


def test_an_int_zero_of_any_int_type_is_success() -> None:
    class Status(int):
        pass

    for code in (0, False, Status(0)):
        assert as_error(SystemExit(code)) is None, code


def test_an_escaped_exit_carries_the_original_and_says_what_it_was() -> None:
    original = SystemExit(3)
    escaped = EscapedExit(original)
    assert escaped.original is original
    assert str(escaped) == "SystemExit: 3"
    assert str(EscapedExit(KeyboardInterrupt())) == "KeyboardInterrupt: "


def test_a_carried_base_exception_that_cannot_be_printed_is_still_named() -> None:
    class Own(BaseException):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    assert str(EscapedExit(Own())) == "Own: <unprintable Own: RuntimeError>"
