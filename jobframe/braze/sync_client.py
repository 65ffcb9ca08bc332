"""``BrazeClient``: the blocking shell around the sans-I/O core, over ``httpx.Client``.

It only moves bytes and sleeps: every decision comes from :class:`~jobframe.braze.exchange.Exchange`
and every request body from :class:`~jobframe.braze.planner.Planner`. Batches run one after another.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
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
from jobframe.http import sync_client

__all__ = ["BrazeClient"]

P = ParamSpec("P")
R = TypeVar("R")


def _plan(build: Callable[Concatenate[Planner, P], Plan[R]]) -> Callable[Concatenate[BrazeClient, P], R]:
    @functools.wraps(build)
    def method(self: BrazeClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._run(build(self._state.planner, *args, **kwargs))

    return method


def _call(build: Callable[Concatenate[Planner, P], Call[R]]) -> Callable[Concatenate[BrazeClient, P], R]:
    @functools.wraps(build)
    def method(self: BrazeClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._execute(build(self._state.planner, *args, **kwargs))

    return method


def _pages(
    build: Callable[Concatenate[Planner, P], CampaignPager],
) -> Callable[Concatenate[BrazeClient, P], Iterator[CampaignSummary]]:
    @functools.wraps(build)
    def method(self: BrazeClient, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[CampaignSummary]:
        pager = build(self._state.planner, *args, **kwargs)
        while (call := pager.next_call()) is not None:
            yield from pager.receive(self._execute(call))

    return method


class BrazeClient(ClientShell[httpx.Client]):
    """Blocking Braze REST client. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self, http: httpx.Client, state: ClientState, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(http, state)
        self._sleep = sleep

    @classmethod
    def from_settings(
        cls, settings: BrazeSettings, *, transport: httpx.BaseTransport | None = None
    ) -> BrazeClient:
        """Build the client (and its ``httpx.Client``) from settings.

        ``base_url="fake://braze"`` uses the in-process fake unless a ``transport`` is given.
        A real instance without ``api_key`` raises :class:`~jobframe.errors.ConfigurationError`.
        """
        headers = auth_headers(settings)
        transport = fake_or(settings, transport)
        http = sync_client(settings.http_settings(), headers=headers, transport=transport)
        return cls(http, ClientState(settings))

    def close(self) -> None:
        """Close the ``httpx`` client and its connections."""
        self._http.close()

    def __enter__(self) -> BrazeClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _execute(self, call: Call[R]) -> R:
        exchange = Exchange(call, self._state.ctx)
        action = exchange.start()
        while True:
            if isinstance(action, Wait):
                self._sleep(action.seconds)
                action = exchange.resume()
            elif isinstance(action, Send):
                request = self._http.build_request(
                    action.method, action.path, json=action.json, params=action.params
                )
                exchange.sent(request.headers)
                try:
                    response = self._http.send(request)
                except httpx.TransportError as error:
                    action = exchange.fail(error)
                    continue
                action = exchange.receive(response.status_code, response.headers, response.content)
            elif isinstance(action, Done):
                return action.value
            else:
                raise action.error

    def _run(self, plan: Plan[R]) -> R:
        for call in plan.calls:
            try:
                value: Any = self._execute(call)
            except BrazeError as error:
                plan.failed(call, error)
                raise
            plan.fold(call, value)
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
