"""``BrazeClient``: the blocking shell around the sans-I/O core, over ``httpx.Client``.

It only moves bytes and sleeps (see :mod:`jobframe.braze._client_base` for everything else). Batches
run one after another, so after a failure at most one batch's outcome is ever unknown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from jobframe.braze._bulk import Plan, Stream, single
from jobframe.braze._client_base import ClientShell, Recording, Step, resume
from jobframe.braze._exchange import Call, Wait
from jobframe.braze._operations import CampaignPager
from jobframe.braze._results import CampaignSummary
from jobframe.braze._settings import BrazeSettings
from jobframe.http import sync_client
from jobframe.ledger.ledger import RunLedger
from jobframe.observe.observer import Observer

__all__ = ["BrazeClient"]

R = TypeVar("R")


class BrazeClient(ClientShell[httpx.Client]):
    """Blocking Braze REST client. Use as a context manager, or call :meth:`close`."""

    _connect = staticmethod(sync_client)

    def __init__(
        self,
        http: httpx.Client,
        settings: BrazeSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        **core: Any,
    ) -> None:
        super().__init__(http, settings, **core)
        self._sleep = sleep

    @classmethod
    def from_settings(
        cls,
        settings: BrazeSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        ledger: RunLedger | None = None,
        observer: Observer | None = None,
    ) -> BrazeClient:
        """Build the client (and its ``httpx.Client``) from settings.

        ``base_url="fake://braze"`` uses the in-process fake unless a ``transport`` is given.
        A real instance without ``api_key`` raises :class:`~jobframe.errors.ConfigurationError`.
        With a run ``ledger``, bulk calls record every batch and a retried run resumes
        (docs/resume.md). ``observer`` counts its requests and objects (docs/observability.md).
        """
        return cls(cls._http_for(settings, transport), settings, ledger=ledger, observer=observer)

    def close(self) -> None:
        """Close the ``httpx`` client and its connections."""
        self._http.close()

    def __enter__(self) -> BrazeClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, plan: Plan[R]) -> R:
        stream = self._stream(plan)
        try:
            while (call := stream.next_call()) is not None:
                self._attempt(call, stream)
            return stream.result()
        finally:
            stream.close()

    def _attempt(self, call: Call[Any], stream: Stream[Any]) -> None:
        """Drive the shared attempt (:meth:`ClientShell._steps`), blocking at each wait."""
        steps = self._steps(self._exchange(call, stream), call, stream)
        reply: httpx.Response | None = None
        error: BaseException | None = None
        while (step := resume(steps, reply, error)) is not None:
            reply, error = None, None
            try:
                reply = self._wait(step)
            except BaseException as exc:  # noqa: BLE001 - the attempt decides what it means
                error = exc

    def _wait(self, step: Step) -> httpx.Response | None:
        if isinstance(step, Wait):
            self._sleep(step.seconds)
            return None
        if isinstance(step, Recording):
            step.future.result(step.timeout)
            return None
        return self._http.send(step)

    def _pages(self, pager: CampaignPager) -> Iterator[CampaignSummary]:
        while (call := pager.next_call()) is not None:
            yield from pager.receive(self._run(single(call)))
