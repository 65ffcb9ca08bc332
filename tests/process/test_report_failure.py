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
