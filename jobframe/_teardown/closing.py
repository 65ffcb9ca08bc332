"""How one close runs during teardown: bounded in time, sync or async, never hanging the exit.

A sync close in the main thread is bounded by a timer that raises :class:`TeardownTimeout` into it
(see :mod:`jobframe._run.close_timers`); an async close by ``asyncio.timeout``; a close run by the
supervisor thread (which cannot be interrupted that way) in a thread of its own that is waited for
at most its limit. Each reports whether the close returned, so the registry can tell "closed" from
"abandoned".
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

__all__ = [
    "MIN_CLOSE_S",
    "TeardownTimeout",
    "TeardownTimer",
    "abounded",
    "abounded_in_thread",
    "bounded",
    "bounded_in_thread",
    "closer_of",
    "exc_info_of",
    "is_closed",
    "limit_until",
    "run_sync",
]

MIN_CLOSE_S = 0.2
"""Each close still gets this long after an earlier one used up the budget by hanging."""


class TeardownTimeout(BaseException):
    """A close ran past its share of ``--shutdown-timeout`` and is abandoned."""


class TeardownTimer(Protocol):
    """What bounds a sync close: raises :class:`TeardownTimeout` in the main thread when it fires."""

    def arm_teardown(self, timeout: float) -> None: ...

    def disarm(self) -> None: ...


def is_closed(obj: Any) -> bool | None:
    """``True``/``False`` when the object says whether it is closed, ``None`` when it cannot tell."""
    for attr in ("is_closed", "closed"):
        value = getattr(obj, attr, None)
        if isinstance(value, bool):
            return value
    return None


def closer_of(obj: Any) -> Callable[[], Any] | None:
    for attr in ("aclose", "close"):
        method = getattr(obj, attr, None)
        if callable(method):
            return method  # type: ignore[no-any-return]
    return None


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def run_sync(result: Any) -> Any:
    """``result`` itself, or — if it is awaitable (an ``aclose()`` met by sync code) — what it
    gives when run to completion on an event loop of its own. The one place sync code runs an
    awaitable."""
    return asyncio.run(_awaited(result)) if inspect.isawaitable(result) else result


def bounded(call: Callable[[], Any], limit: float | None, timer: TeardownTimer | None) -> bool:
    """Run a sync close under the timer: ``True`` if it returned, ``False`` if it was abandoned.

    A timer firing just after the close returned (before it was disarmed) still counts as closed.
    Exceptions from the close propagate: the caller reports them.
    """
    done = False
    try:
        try:
            if timer is not None and limit is not None:
                timer.arm_teardown(limit)
            call()
            done = True
        finally:
            if timer is not None:
                timer.disarm()
    except TeardownTimeout:
        return done
    return True


def bounded_in_thread(call: Callable[[], Any], limit: float | None) -> bool:
    """Run ``call`` (awaitables included) in a daemon thread and wait at most ``limit`` seconds.

    For the supervisor thread, which closes what a stuck main thread left: ``True`` if the call
    returned, ``False`` if it is still running (abandoned; the process ends soon anyway). The
    call's exception is re-raised here.
    """
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            run_sync(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome.append(exc)
        else:
            outcome.append(None)

    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(target,), name="jobframe-close", daemon=True)
    worker.start()
    worker.join(limit)
    if not outcome:
        return False
    if outcome[0] is not None:
        raise outcome[0]
    return True


async def abounded(call: Callable[[], Any], limit: float | None, timer: TeardownTimer | None) -> bool:
    """The async twin of :func:`bounded`, for a close that may block (a sync ``close()`` or
    ``__exit__``: bounded by the timer) and may return an awaitable (bounded by ``asyncio.timeout``
    with what is left of ``limit``)."""
    started = time.monotonic()
    returned: list[Any] = []
    if not bounded(lambda: returned.append(call()), limit, timer):
        return False
    if not returned or not inspect.isawaitable(returned[0]):
        return True
    left = None if limit is None else max(limit - (time.monotonic() - started), MIN_CLOSE_S)
    try:
        async with asyncio.timeout(left):
            await returned[0]
    except TimeoutError:
        return False
    return True


async def abounded_in_thread(call: Callable[[], Any], limit: float | None) -> bool:
    """The async twin of :func:`bounded_in_thread`: a sync close that may block in C (a flush in a
    C library, where no signal reaches) runs in a daemon thread; the event loop waits for it at most
    ``limit`` seconds and abandons it then. The call's exception is re-raised here."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[BaseException | None] = loop.create_future()

    def settle(result: BaseException | None) -> None:
        if not outcome.done():
            outcome.set_result(result)

    def target() -> None:
        result: BaseException | None = None
        try:
            run_sync(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting loop
            result = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result)

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(target,), name="jobframe-close", daemon=True).start()
    try:
        async with asyncio.timeout(limit):
            error = await asyncio.shield(outcome)
    except TimeoutError:
        return False
    if error is not None:
        raise error
    return True


def exc_info_of(exc: BaseException | None) -> tuple[Any, Any, Any]:
    return (type(exc), exc, exc.__traceback__) if exc is not None else (None, None, None)


def limit_until(ends: float | None, now: float) -> float | None:
    return None if ends is None else max(ends - now, MIN_CLOSE_S)
