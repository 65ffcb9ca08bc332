"""A failed job's exception goes to an error reporter's ``sys.excepthook``, first among the exit
hooks (the process-level proof: ``tests/lifecycle/test_exit_hooks.py``)."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

import jobframe._process.exit_hooks as exit_hooks
from jobframe._process.exit_hooks import report_failure

Registered = list[tuple[Callable[..., Any], tuple[Any, ...]]]


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Registered:
    """What ``report_failure`` registers with ``atexit`` (kept here: the session's hooks untouched)."""
    hooks: Registered = []
    fake = types.SimpleNamespace(register=lambda func, *args: hooks.append((func, args)))
    monkeypatch.setattr(exit_hooks, "atexit", fake)
    return hooks


def test_the_failure_reaches_the_installed_hook(
    registered: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    got: list[tuple[Any, ...]] = []
    monkeypatch.setattr(sys, "excepthook", lambda *args: got.append(args))
    error = RuntimeError("boom")
    report_failure(error)
    [(func, args)] = registered
    func(*args)
    assert got == [(RuntimeError, error, error.__traceback__)]


@pytest.mark.parametrize("hook", ["python's own", "none"])
def test_no_reporter_is_given_nothing(
    registered: Registered, monkeypatch: pytest.MonkeyPatch, hook: str
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__ if hook == "python's own" else None)
    report_failure(RuntimeError("boom"))  # Python's own would print what job.finished logged
    assert registered == []


def test_a_success_gives_the_reporter_nothing(
    registered: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "excepthook", lambda *args: None)
    report_failure(None)
    assert registered == []


SECRET = "s3cr3t-value-42"


def _mask(text: str) -> str:
    return text.replace(SECRET, "***")


def test_what_the_hook_prints_is_scrubbed_and_the_hook_gets_the_real_failure(
    registered: Registered, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # sentry-sdk's hook chains to Python's own, which prints the message: on stderr (and a hook may
    # print on stdout), in pieces that may split the secret
    got: list[BaseException] = []

    def reporter(kind: type[BaseException], error: BaseException, tb: Any) -> None:
        got.append(error)
        half = len(SECRET) // 2
        sys.stderr.write(f"RuntimeError: token {SECRET[:half]}")
        sys.stderr.write(f"{SECRET[half:]}\nsecond line {SECRET}\n")
        print("stdout", SECRET, end="")  # no newline: written when the hook returns

    monkeypatch.setattr(sys, "excepthook", reporter)
    error = RuntimeError(f"token {SECRET}")
    report_failure(error, _mask)
    [(func, args)] = registered
    func(*args)
    assert got == [error] and SECRET in str(got[0]), "the reporter's own choice: the real exception"
    out, err = capsys.readouterr()
    assert err == "RuntimeError: token ***\nsecond line ***\n"
    assert out == "stdout ***"
    assert sys.stderr is not None and "Scrubbing" not in type(sys.stderr).__name__, "restored"


def test_the_wrapped_hook_is_named_as_the_hook(
    registered: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reporter(*args: Any) -> None:
        raise ValueError("the reporter failed")

    monkeypatch.setattr(sys, "excepthook", reporter)
    report_failure(RuntimeError("boom"), _mask)
    [(func, _)] = registered
    assert exit_hooks._name(func) == exit_hooks._name(reporter)  # exit.hook_failed names the reporter
    with pytest.raises(ValueError, match="the reporter failed"):
        func()
