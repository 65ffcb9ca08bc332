"""Find the HTTP clients, sockets and files a run opened and left open, and say where each was opened.

A ``ResourceWarning`` only fires when an unclosed socket or file is garbage-collected; a client kept
in a module-level list, a cache or a class attribute is never collected, so it never warns and its
connections outlive the test. While :func:`track_opened` is active, every ``httpx.Client``,
``httpx.AsyncClient``, ``socket.socket`` and file opened with ``open`` is recorded (weakly, so
nothing lives longer than it would) with the place that opened it; afterwards, whatever is still
alive and not closed is a leak, wherever it is referenced.

Only what the run opens counts: objects opened by its own thread or by threads started while it
runs, not by threads that were already there (a test's loopback server accepting connections).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import socket
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import httpx

__all__ = ["track_opened", "where_opened"]

_INFRASTRUCTURE = frozenset(
    {
        "jobframe",
        "httpx",
        "httpcore",
        "h11",
        "h2",
        "anyio",
        "sniffio",
        "respx",
        "asyncio",
        "socket",
        "ssl",
        "selectors",
        "concurrent",
        "threading",
        "contextlib",
        "functools",
        "io",
        "_io",
        "codecs",
        "pathlib",
        "os",
        "dependency_injector",
        "structlog",
        "logging",
        "_pytest",
        "pytest",
        "pluggy",
    }
)
"""Top-level modules whose frames never answer "who opened it": the libraries doing it on someone's behalf."""

_DEPTH = 40


def where_opened(skip: int = 1) -> str:
    """``file:line in function`` of the innermost caller outside the libraries that open things for it."""
    frame: FrameType | None = sys._getframe(skip + 1)
    fallback = ""
    for _ in range(_DEPTH):
        if frame is None:
            break
        module = str(frame.f_globals.get("__name__", ""))
        place = f"{_display(frame.f_code.co_filename)}:{frame.f_lineno} in {frame.f_code.co_name}"
        if module.partition(".")[0] not in _INFRASTRUCTURE:
            return place
        fallback = fallback or place
        frame = frame.f_back
    return fallback or "an unknown place"


def _display(filename: str) -> str:
    with contextlib.suppress(ValueError):
        relative = os.path.relpath(filename)
        if not relative.startswith(".."):
            return relative
    return filename


@dataclass
class _Record:
    ref: weakref.ReferenceType[Any]
    where: str
    ident: int
    kind: type[Any]


def _describe(obj: Any) -> str | None:
    """What ``obj`` is, when it is still open; ``None`` when it was closed."""
    if isinstance(obj, httpx.Client | httpx.AsyncClient):
        if obj.is_closed:
            return None
        base = str(obj.base_url)
        inner: Any = getattr(obj, "_transport", None)
        while hasattr(inner, "_inner"):  # jobframe's per-host limit wraps the real transport
            inner = inner._inner
        transport = type(inner).__name__
        on = (
            f" on {transport}" if transport not in ("HTTPTransport", "AsyncHTTPTransport", "NoneType") else ""
        )
        return f"{type(obj).__name__}" + (f"(base_url={base!r})" if base else "()") + on
    if isinstance(obj, socket.socket):
        if obj.fileno() == -1:
            return None
        try:
            peer = obj.getpeername()
        except OSError:
            return "socket (not connected)"
        return f"socket to {peer[0]}:{peer[1]}" if isinstance(peer, tuple) else f"socket to {peer!r}"
    if getattr(obj, "closed", True):
        return None
    return f"file {getattr(obj, 'name', '?')!r}"


@dataclass(eq=False)  # trackers are removed from the stack by identity
class OpenedTracker:
    """What was opened while it was active; :meth:`left_open` names what is still open."""

    records: list[_Record] = field(default_factory=list)
    others: frozenset[int] = frozenset()
    """Threads that were running before the tracker started (other than its own): not watched."""

    def watches(self, thread: int) -> bool:
        return thread not in self.others

    def record(self, obj: Any, where: str) -> None:
        with contextlib.suppress(TypeError):  # not weak-referenceable: cannot be tracked
            self.records.append(_Record(weakref.ref(obj), where, id(obj), type(obj)))

    def left_open(self) -> list[str]:
        """``<what> opened at <where>`` for each recorded object still alive and open."""
        found = []
        for record in self.records:
            obj = record.ref()
            what = _describe(obj) if obj is not None else None
            if what is not None:
                found.append(f"{what} opened at {record.where}")
        return found

    def where(self, obj: Any) -> str | None:
        """Where ``obj`` was opened, if it was opened while tracking (a ResourceWarning's source).

        An object collected in a reference cycle has lost its weak references by the time its
        warning names it: it is then the newest record at its address, of its type.
        """
        for record in reversed(self.records):
            alive = record.ref()
            if alive is obj or (alive is None and record.ident == id(obj) and record.kind is type(obj)):
                return record.where
        return None


_TRACKERS: list[OpenedTracker] = []
_LOCK = threading.Lock()
_ORIGINAL: dict[str, Any] = {}


def _note(obj: Any) -> None:
    thread = threading.get_ident()
    trackers = [t for t in _TRACKERS if t.watches(thread)]
    if trackers:
        where = where_opened(2)
        for tracker in trackers:
            tracker.record(obj, where)


def _recording_init(original: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - replaces __init__
        original(self, *args, **kwargs)
        _note(self)

    return __init__


def _recording_open(original: Callable[..., Any]) -> Callable[..., Any]:
    def open(*args: Any, **kwargs: Any) -> Any:
        handle = original(*args, **kwargs)
        _note(handle)
        return handle

    return open


_CLASSES: tuple[type[Any], ...] = (httpx.Client, httpx.AsyncClient, socket.socket)


def _install() -> None:
    for cls in _CLASSES:
        _ORIGINAL[cls.__qualname__] = cls.__init__
        cls.__init__ = _recording_init(cls.__init__)
    _ORIGINAL["open"] = builtins.open
    builtins.open = io.open = _recording_open(builtins.open)


def _uninstall() -> None:
    for cls in _CLASSES:
        cls.__init__ = _ORIGINAL[cls.__qualname__]
    builtins.open = io.open = _ORIGINAL["open"]
    _ORIGINAL.clear()


@contextlib.contextmanager
def track_opened() -> Iterator[OpenedTracker]:
    """Record clients, sockets and files opened inside the ``with`` by this thread or new threads."""
    own = threading.get_ident()
    tracker = OpenedTracker(
        others=frozenset(t.ident for t in threading.enumerate() if t.ident not in (None, own))
    )
    with _LOCK:
        if not _TRACKERS:
            _install()
        _TRACKERS.append(tracker)
    try:
        yield tracker
    finally:
        with _LOCK:
            _TRACKERS.remove(tracker)
            if not _TRACKERS:
                _uninstall()
