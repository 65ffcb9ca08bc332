"""``AsyncBrazeClient``: the asyncio shell around the sans-I/O core, over ``httpx.AsyncClient``.

Same decisions as the sync client (they come from the same core, :mod:`jobframe.braze._client_base`),
plus concurrency: a batched call keeps as many batches in flight as the endpoint's self-tuning
limit allows (:mod:`jobframe.braze._concurrency`; never above ``max_concurrency`` for the whole
client), and new batches are pulled from the input only when one may start, so memory stays flat.
With a run ledger, batches that may not be repeated go one at a time (a kill leaves at most one
ambiguous); repeatable ones keep the concurrency.

On the first failed batch no new batch is started, and batches waiting to be sent are not sent;
batches already sent are awaited (cancelling an in-flight send would only make its outcome
unknown) and then the first error is raised with the call's delivery report.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from jobframe.braze._bulk import Plan, Stream, single
from jobframe.braze._client_base import ClientShell, Recording, Step, resume
from jobframe.braze._exchange import Call, Wait
from jobframe.braze._operations import CampaignPager
from jobframe.braze._results import CampaignSummary
from jobframe.braze._settings import BrazeSettings
from jobframe.http import async_client
from jobframe.ledger.ledger import RunLedger
from jobframe.observe.observer import Observer

__all__ = ["AsyncBrazeClient"]

R = TypeVar("R")


class AsyncBrazeClient(ClientShell[httpx.AsyncClient]):
    """Concurrent Braze REST client. Use as an async context manager, or await :meth:`aclose`."""

    _connect = staticmethod(async_client)

    def __init__(self, http: httpx.AsyncClient, settings: BrazeSettings, **core: Any) -> None:
        super().__init__(http, settings, **core)
        self._slot_freed = asyncio.Event()
        self._pausing: dict[asyncio.Task[Any], int] = {}
        """Tasks in a pause (a rate limit, a backoff): no request of theirs is out. By stream id."""
        self._halted: set[int] = set()
        """Streams whose call was cancelled: a pause of theirs ends at once."""

    @classmethod
    def from_settings(
        cls,
        settings: BrazeSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        ledger: RunLedger | None = None,
        observer: Observer | None = None,
    ) -> AsyncBrazeClient:
        """Build the client from settings; see :meth:`BrazeClient.from_settings`."""
        return cls(cls._http_for(settings, transport), settings, ledger=ledger, observer=observer)

    async def aclose(self) -> None:
        """Close the ``httpx`` client and its connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncBrazeClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _next(self, stream: Stream[Any]) -> Call[Any] | None:
        """Wait until the endpoint's limit lets one more call start, then take it from the stream
        (or, while what is left waits for a non-repeatable batch in flight, until that settled)."""
        while True:
            while not (stream.stopped or self._concurrency.can_start(stream.endpoint)):
                self._slot_freed.clear()
                await self._slot_freed.wait()
            call = stream.next_call()
            if call is not None:
                self._concurrency.started(stream.endpoint)
                return call
            if not stream.waiting:
                return None
            self._slot_freed.clear()
            await self._slot_freed.wait()

    async def _run(self, plan: Plan[R]) -> R:
        stream = self._stream(plan)
        try:
            return await self._drive(stream)
        finally:
            self._halted.discard(id(stream))
            stream.close()

    async def _drive(self, stream: Stream[R]) -> R:
        running: set[asyncio.Task[None]] = set()
        try:
            try:
                while (call := await self._next(stream)) is not None:
                    running.add(asyncio.create_task(self._attempt(call, stream)))
                    running = {task for task in running if not task.done()}
            except asyncio.CancelledError:
                self._halt(stream)
                raise
            finally:  # the input failed, or every call was handed out: let those in flight finish
                outcomes = await asyncio.gather(*running, return_exceptions=True)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome
        return stream.result()

    def _halt(self, stream: Stream[Any]) -> None:
        """The call was cancelled (a deadline, a signal): its calls in a pause — none of their
        requests out, so none becomes unknown — end now instead of sleeping out a Retry-After
        that may outlast the grace. Those with a request out are then awaited by the caller, as
        for a failure — until answered or the HTTP timeout, not bounded by the cancel grace; a
        cancel that lands once every call was handed out cancels them instead (ambiguous, like
        the sync client interrupted mid-request). See docs/resume.md."""
        self._halted.add(id(stream))
        for task, owner in list(self._pausing.items()):
            if owner == id(stream):
                task.cancel()

    async def _attempt(self, call: Call[Any], stream: Stream[Any]) -> None:
        """Drive the shared attempt (:meth:`ClientShell._steps`), awaiting each wait; then give
        the call's slot back, whatever happened."""
        exchange = self._exchange(call, stream)
        steps = self._steps(exchange, call, stream)
        reply: httpx.Response | None = None
        error: BaseException | None = None
        try:
            while (step := resume(steps, reply, error)) is not None:
                reply, error = None, None
                try:
                    reply = await self._wait(step, stream)
                except BaseException as exc:  # noqa: BLE001 - the attempt decides what it means
                    error = exc
        finally:
            stream.let_go(call)
            self._concurrency.finished(
                stream.endpoint, exchange.latency, failed=exchange.congested, waited=exchange.waited
            )
            self._slot_freed.set()

    async def _wait(self, step: Step, stream: Stream[Any]) -> httpx.Response | None:
        endpoint = stream.endpoint
        if isinstance(step, Wait):  # the tuner does not grow while a request waits for its turn
            if id(stream) in self._halted:
                raise asyncio.CancelledError
            task = asyncio.current_task()
            if task is not None:
                self._pausing[task] = id(stream)
            self._concurrency.wait_began(endpoint)
            try:
                await asyncio.sleep(step.seconds)
            finally:
                self._concurrency.wait_ended(endpoint)
                if task is not None:
                    self._pausing.pop(task, None)
            return None
        if isinstance(step, Recording):  # without blocking the loop
            await asyncio.wait_for(asyncio.wrap_future(step.future), step.timeout)
            return None
        return await self._http.send(step)

    async def _pages(self, pager: CampaignPager) -> AsyncIterator[CampaignSummary]:
        while (call := pager.next_call()) is not None:
            for campaign in pager.receive(await self._run(single(call))):
                yield campaign
