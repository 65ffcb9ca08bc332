"""Notice what a run leaves behind: resources, clients, sockets, files, threads, ResourceWarnings.

In a container the exit guard ends the process whatever is left running; in a test process
nothing does, so a leak shows up later as a hang, a flaky neighbour test or a socket warning far
from its cause. :class:`LeakWatch` turns it into a failure of the test that caused it, naming the
resource or the thread.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jobframe._run import RunResult
from jobframe.stacks import describe_thread
from jobframe.testing._opened import track_opened

__all__ = ["LeakError", "LeakReport", "watch_leaks"]


class LeakError(AssertionError):
    """A run (or a test) left something behind; the message lists what and where it was opened.

    An ``AssertionError`` so the test fails. ``subject`` is ``"job SomeJob"`` or ``"test test_x"``.
    """

    def __init__(self, subject: str, report: LeakReport, result: Any = None) -> None:
        super().__init__(f"{subject} leaked:\n  " + "\n  ".join(report.lines()) + _HINT)
        self.report = report
        self.result = result


_HINT = (
    "\n(close what you open, or provide closeable objects with providers.Resource so jobframe closes "
    "them; join or daemonise threads; opt out with @pytest.mark.jobframe_allow_leaks or check_leaks=False)"
)


@dataclass
class LeakReport:
    """Everything a run left behind; empty (falsy) when the run was clean."""

    not_closed: list[str] = field(default_factory=list)
    opened_by_test: list[str] = field(default_factory=list)
    left_open: list[str] = field(default_factory=list)
    close_failed: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    resource_warnings: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(
            (
                self.not_closed,
                self.opened_by_test,
                self.left_open,
                self.close_failed,
                self.unmanaged,
                self.threads,
                self.resource_warnings,
            )
        )

    def lines(self) -> list[str]:
        """One readable line per leak."""
        return (
            [f"resource {name!r} was opened and never closed" for name in self.not_closed]
            + [f"resource {what}" for what in self.opened_by_test]
            + [f"{what}, and was never closed" for what in self.left_open]
            + [f"resource {name!r} failed to close" for name in self.close_failed]
            + [
                f"provider {name!r} held a closeable object that only the safety net closed "
                "(resource.unmanaged)"
                for name in self.unmanaged
            ]
            + [f"non-daemon thread still running: {thread}" for thread in self.threads]
            + [f"ResourceWarning: {message}" for message in self.resource_warnings]
        )

    def add_run(self, result: RunResult) -> None:
        """Read the resource bookkeeping of one run."""
        done = set(result.resources_closed) | set(result.resources_failed)
        self.not_closed += [name for name in result.resources_opened if name not in done]
        self.close_failed += list(result.resources_failed)
        self.unmanaged += list(result.resources_unmanaged)


def _new_threads(before: set[int], grace: float) -> list[threading.Thread]:
    """Non-daemon threads started since ``before`` that are still alive after up to ``grace`` seconds."""
    deadline = time.monotonic() + grace
    while True:
        alive = [
            t
            for t in threading.enumerate()
            if t.ident not in before and not t.daemon and t.is_alive() and t is not threading.current_thread()
        ]
        if not alive or time.monotonic() >= deadline:
            return alive
        alive[0].join(max(0.0, min(0.01, deadline - time.monotonic())))


@contextlib.contextmanager
def watch_leaks(*, thread_grace: float = 0.5) -> Iterator[LeakReport]:
    """Watch the body for new non-daemon threads, clients, sockets and files left open, and
    ResourceWarnings; fill the yielded report.

    Threads get ``thread_grace`` seconds to finish (an executor worker winding down is not a
    leak). Garbage is collected before leaving, so an unclosed file or socket warns *here*; what
    is still referenced and open is listed with the place that opened it.
    """
    report = LeakReport()
    before = {t.ident for t in threading.enumerate() if t.ident is not None}
    with warnings.catch_warnings(record=True) as caught, track_opened() as opened:
        warnings.simplefilter("always", ResourceWarning)
        try:
            yield report
        finally:
            # Threads first: one winding down may still close what it opened.
            report.threads += [_describe(t) for t in _new_threads(before, thread_grace)]
            gc.collect()
    report.left_open += opened.left_open()
    for w in caught:
        if issubclass(w.category, ResourceWarning):
            where = opened.where(w.source) if w.source is not None else None
            report.resource_warnings.append(str(w.message) + (f" (opened at {where})" if where else ""))
    # record=True swallowed the other warnings too: hand them back to pytest's own capture.
    for w in caught:
        if not issubclass(w.category, ResourceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _describe(thread: threading.Thread) -> str:
    """``name (target=module.func, at file:line in func)`` — enough to find who started it."""
    described = describe_thread(thread, 1, own_code=False)
    at = f", at {described['stack'][-1]}" if described["stack"] else ""
    return f"{described['name']!r} (target={described['target']}{at})"
