"""``AsyncBrazeClient``: the asyncio shell around the sans-I/O core, over ``httpx.AsyncClient``.

Same decisions as the sync client (they come from the same :class:`Exchange`), plus concurrency:
a batched operation keeps up to ``max_concurrency`` batches in flight, every call of the client
shares one semaphore of that size and one rate limiter, and new batches are pulled from the input
only when a slot is free, so memory stays flat.

On the first failed batch no new batch is started; batches already sent are awaited (cancelling
an in-flight send would only make its outcome unknown) and then the first error is raised.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from jobframe.braze.errors import BrazeError
from jobframe.braze.exchange import Call, Done, Exchange, Send, Wait
from jobframe.braze.planner import Planner
from jobframe.braze.plans import CampaignPager, Plan
from jobframe.braze.results import CampaignSummary
from jobframe.braze.settings import BrazeSettings
from jobframe.braze.shell import ClientShell, ClientState, auth_headers, fake_or
from jobframe.http import async_client

__all__ = ["AsyncBrazeClient"]

P = ParamSpec("P")
R = TypeVar("R")
Method = Callable[Concatenate["AsyncBrazeClient", P], Coroutine[Any, Any, R]]


def _plan(build: Callable[Concatenate[Planner, P], Plan[R]]) -> Method[P, R]:
    @functools.wraps(build)
    async def method(self: AsyncBrazeClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._run(build(self._state.planner, *args, **kwargs))

    return method


def _call(build: Callable[Concatenate[Planner, P], Call[R]]) -> Method[P, R]:
    @functools.wraps(build)
    async def method(self: AsyncBrazeClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._execute(build(self._state.planner, *args, **kwargs))

    return method


def _pages(
    build: Callable[Concatenate[Planner, P], CampaignPager],
) -> Callable[Concatenate[AsyncBrazeClient, P], AsyncIterator[CampaignSummary]]:
    @functools.wraps(build)
    async def method(
        self: AsyncBrazeClient, /, *args: P.args, **kwargs: P.kwargs
    ) -> AsyncIterator[CampaignSummary]:
        pager = build(self._state.planner, *args, **kwargs)
        while (call := pager.next_call()) is not None:
            for campaign in pager.receive(await self._execute(call)):
                yield campaign

    return method


class AsyncBrazeClient(ClientShell[httpx.AsyncClient]):
    """Concurrent Braze REST client. Use as an async context manager, or await :meth:`aclose`."""

    def __init__(self, http: httpx.AsyncClient, state: ClientState) -> None:
        super().__init__(http, state)
        self._slots = asyncio.Semaphore(state.settings.max_concurrency)

    @classmethod
    def from_settings(
        cls, settings: BrazeSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncBrazeClient:
        """Build the client from settings; see :meth:`BrazeClient.from_settings`."""
        headers = auth_headers(settings)
        transport = fake_or(settings, transport)
        http = async_client(settings.http_settings(), headers=headers, transport=transport)
        return cls(http, ClientState(settings))

    async def aclose(self) -> None:
        """Close the ``httpx`` client and its connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncBrazeClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _execute(self, call: Call[R]) -> R:
        async with self._slots:
            exchange = Exchange(call, self._state.ctx)
            action = exchange.start()
            while True:
                if isinstance(action, Wait):
                    await asyncio.sleep(action.seconds)
                    action = exchange.resume()
                elif isinstance(action, Send):
                    request = self._http.build_request(
                        action.method, action.path, json=action.json, params=action.params
                    )
                    exchange.sent(request.headers)
                    try:
                        response = await self._http.send(request)
                    except httpx.TransportError as error:
                        action = exchange.fail(error)
                        continue
                    action = exchange.receive(response.status_code, response.headers, response.content)
                elif isinstance(action, Done):
                    return action.value
                else:
                    raise action.error

    async def _run(self, plan: Plan[R]) -> R:
        limit = self._state.settings.max_concurrency
        calls: dict[asyncio.Task[Any], Call[Any]] = {}
        failure: tuple[Call[Any], BaseException] | None = None

        def collect(done: set[asyncio.Task[Any]]) -> None:
            nonlocal failure
            for task in sorted(done, key=lambda t: calls[t].batch_index or 0):
                call = calls.pop(task)
                error = task.exception()
                if error is None:
                    plan.fold(call, task.result())
                elif failure is None:
                    failure = (call, error)

        try:
            for call in plan.calls:
                calls[asyncio.create_task(self._execute(call))] = call
                if len(calls) >= limit:
                    done, _ = await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
                    collect(done)
                    if failure is not None:
                        break
            while calls:
                done, _ = await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
                collect(done)
        except BaseException:
            for task in calls:
                task.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            raise
        if failure is not None:
            call, error = failure
            if isinstance(error, BrazeError):
                plan.failed(call, error)
            raise error
        return plan.done()

    send_message = _plan(Planner.send_message)
    trigger_campaign = _plan(Planner.trigger_campaign)
    trigger_canvas = _plan(Planner.trigger_canvas)
    track_users = _plan(Planner.track_users)
    export_users = _plan(Planner.export_users)
    create_send_id = _call(Planner.create_send_id)
    campaign_data_series = _call(Planner.campaign_data_series)
    send_data_series = _call(Planner.send_data_series)
    campaign_details = _call(Planner.campaign_details)
    iter_campaigns = _pages(Planner.iter_campaigns)
