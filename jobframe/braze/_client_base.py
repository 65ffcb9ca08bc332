"""Everything the sync and async clients share: construction, state, and the public methods.

The public methods are declared once, here, from :class:`~jobframe.braze._operations.Planner`'s
methods (signature and docstring written once there). Each is an :class:`operation`
descriptor: it builds the operation's :class:`~jobframe.braze._bulk.Plan` and hands it to the
client's ``_run`` — a blocking loop in :class:`~jobframe.braze.BrazeClient`, a coroutine in
:class:`~jobframe.braze.AsyncBrazeClient`. Its ``__get__`` overloads tell mypy which of the two
a caller gets.

One attempt at a call is written once too, as :meth:`ClientShell._steps`: a generator (like
httpx's ``Auth.auth_flow``) that yields what must be waited for — a :class:`Wait`, the ledger's
:class:`Recording`, an ``httpx.Request`` to send — and is sent what came of it. The clients
themselves only do the waiting: blocking, or awaiting.
"""

from __future__ import annotations

import functools
import inspect
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, ClassVar, Concatenate, Generic, ParamSpec, TypeVar, overload

import httpx

from jobframe.braze._bulk import Plan, Stream, single
from jobframe.braze._concurrency import Concurrency
from jobframe.braze._errors import BrazeError, BrazeHTTPError
from jobframe.braze._exchange import (
    Answer,
    Call,
    Done,
    Exchange,
    ExchangeContext,
    Fail,
    NotSentError,
    Send,
    TransportFailure,
    Wait,
)
from jobframe.braze._operations import CampaignPager, Planner
from jobframe.braze._ratelimit import RateLimiter
from jobframe.braze._results import CampaignSummary
from jobframe.braze._settings import BrazeSettings
from jobframe.http.settings import HttpSettings
from jobframe.ledger.ledger import RunLedger
from jobframe.logs import Redact, library_logger
from jobframe.observe.observer import Observer, RequestRecord

__all__ = ["ClientShell", "Recording", "Step", "never_sent", "resume", "transport_failure"]

logger = library_logger("jobframe.braze")

H = TypeVar("H", httpx.Client, httpx.AsyncClient)
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def auth_headers(settings: BrazeSettings) -> dict[str, str]:
    """Headers for the ``httpx`` client; the only place the key's value is read for sending."""
    key = settings.require_api_key()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def offline_fake(settings: BrazeSettings) -> Any:
    """The in-process fake for ``fake://braze``, with a few demo campaigns, announced in the log.

    The log line is the promise that an offline run says it never contacted a real Braze.
    """
    from jobframe.braze.fake import FakeBraze  # noqa: PLC0415 - only offline runs load the fake

    fake = FakeBraze()
    fake.seed_campaigns(3)
    logger.info("braze.fake_in_use", base_url=settings.base_url, campaigns=len(fake.campaigns))
    return fake


def fake_or(settings: BrazeSettings, transport: T) -> T | Any:
    """``transport`` as given, or the offline fake's when ``base_url`` is ``fake://braze``."""
    return offline_fake(settings).transport() if transport is None and settings.is_fake else transport


def never_sent(error: Exception) -> bool:
    """True when the request provably did not reach Braze (safe to repeat for every endpoint).

    Connect failures and a pool timeout happen before a byte is written. Everything else (read
    timeout, reset or closed connection, write error) may have reached Braze.
    """
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def transport_failure(error: httpx.TransportError) -> TransportFailure:
    """``error`` as the sans-I/O core reads it: what failed, and whether it may have been sent."""
    return TransportFailure(type(error).__name__, str(error), sent=not never_sent(error))


@dataclass(frozen=True)
class Recording:
    """Wait at most ``timeout`` seconds for the ledger's record that a batch started (its
    ``future``); an error or a timeout is thrown back into the attempt, which then sends nothing."""

    future: Future[None]
    timeout: float


Step = Wait | Recording | httpx.Request
"""What an attempt waits for: a pause (sent ``None``), the ledger (``None``), or an answer (the
``httpx.Response``; a failure is thrown into the attempt instead)."""


def _interrupted(endpoint: str) -> BrazeError:
    return NotSentError(
        "interrupted while waiting to send it again; Braze applied none of it", endpoint=endpoint
    )


def resume(steps: Generator[Step, Any, None], reply: Any, error: BaseException | None) -> Step | None:
    """The attempt's next step after ``reply`` (or ``error``, thrown into it); ``None``: it ended."""
    try:
        return steps.send(reply) if error is None else steps.throw(error)
    except StopIteration:
        return None


def _signature(build: Callable[..., Any]) -> inspect.Signature:
    sig = inspect.signature(build)
    return sig.replace(parameters=list(sig.parameters.values())[1:])  # without the planner's self


class _Method:
    """A public method made from a ``Planner`` method: built once per client, then cached on it."""

    def __init__(self, build: Callable[..., Any]) -> None:
        self._build = build
        self._signature = _signature(build)
        self._name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def _bind(self, obj: ClientShell[Any], run: Callable[[Any], Any]) -> Any:
        build = self._build

        def method(*args: Any, **kwargs: Any) -> Any:
            return run(build(obj._planner, *args, **kwargs))

        functools.update_wrapper(method, build)
        method.__signature__ = self._signature  # type: ignore[attr-defined]
        obj.__dict__[self._name] = method  # later lookups find the bound method directly
        return method


class operation(_Method, Generic[P, R]):  # noqa: N801 - used like a decorator, named like one
    """A public client method built from a :class:`Planner` method returning a Plan or a Call."""

    @overload
    def __get__(self, obj: None, owner: type) -> operation[P, R]: ...
    @overload
    def __get__(self, obj: ClientShell[httpx.Client], owner: type) -> Callable[P, R]: ...
    @overload
    def __get__(
        self, obj: ClientShell[httpx.AsyncClient], owner: type
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...
    def __get__(self, obj: ClientShell[Any] | None, owner: type) -> Any:
        if obj is None:
            return self
        return self._bind(obj, lambda built: obj._run(built if isinstance(built, Plan) else single(built)))


def plan_op(build: Callable[Concatenate[Planner, P], Plan[R]]) -> operation[P, R]:
    """The public method for a ``Planner`` method that returns a (batched) :class:`Plan`."""
    return operation(build)


def call_op(build: Callable[Concatenate[Planner, P], Call[R]]) -> operation[P, R]:
    """The public method for a ``Planner`` method that returns one :class:`Call`."""
    return operation(build)


def pages_op(build: Callable[Concatenate[Planner, P], CampaignPager]) -> pages[P]:
    """The public paging method for a ``Planner`` method that returns a :class:`CampaignPager`."""
    return pages(build)


class pages(_Method, Generic[P]):  # noqa: N801 - used like a decorator, named like one
    """The paging method (``iter_campaigns``): an iterator in the sync client, async in the other."""

    @overload
    def __get__(self, obj: None, owner: type) -> pages[P]: ...
    @overload
    def __get__(
        self, obj: ClientShell[httpx.Client], owner: type
    ) -> Callable[P, Iterator[CampaignSummary]]: ...
    @overload
    def __get__(
        self, obj: ClientShell[httpx.AsyncClient], owner: type
    ) -> Callable[P, AsyncIterator[CampaignSummary]]: ...
    def __get__(self, obj: ClientShell[Any] | None, owner: type) -> Any:
        return self if obj is None else self._bind(obj, obj._pages)


class ClientShell(Generic[H]):
    """What both clients are besides moving bytes: settings, the shared core state, the methods.

    One client's concurrent calls share its rate limiter, its concurrency limits and its retry
    policy. ``clock`` and ``rng`` are injectable for tests.
    """

    _connect: ClassVar[Callable[..., Any]]
    """``jobframe.http.sync_client`` or ``async_client``: how the subclass builds its ``httpx`` client."""

    def __init__(
        self,
        http: H,
        settings: BrazeSettings,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        ledger: RunLedger | None = None,
        observer: Observer | None = None,
    ) -> None:
        self._http: H = http
        self._settings = settings
        self._ledger = ledger
        self._observer = observer if observer is not None else Observer()
        redact = Redact()
        redact.add_secrets([key] if (key := settings.require_api_key()) else [])
        rng = rng or random.Random()
        retry = settings.retry
        limiter = RateLimiter(backoff_base=retry.backoff_base, backoff_cap=retry.backoff_cap, rng=rng)
        self._ctx = ExchangeContext(
            retry=retry, rate_limit=settings.rate_limit, limiter=limiter, redact=redact, clock=clock, rng=rng
        )
        recording = ledger is not None and ledger.enabled
        self._planner = Planner(settings.batch, retry_unsafe=retry.retry_unsafe, recorded=recording)
        self._concurrency = Concurrency(settings.max_concurrency)

    @classmethod
    def _http_for(cls, settings: BrazeSettings, transport: Any) -> Any:
        http_settings: HttpSettings = settings.http_settings()
        return cls._connect(
            http_settings, headers=auth_headers(settings), transport=fake_or(settings, transport)
        )

    @property
    def settings(self) -> BrazeSettings:
        """The settings this client was built from."""
        return self._settings

    @property
    def is_closed(self) -> bool:
        """True once the client was closed."""
        return self._http.is_closed

    closed = is_closed

    def __repr__(self) -> str:
        # Never the key: only the instance URL and whether the client is closed.
        return f"{type(self).__name__}(base_url={self._settings.base_url!r}, closed={self.is_closed})"

    # -- the core, as both shells use it -------------------------------------------------------

    def _stream(self, plan: Plan[R]) -> Stream[R]:
        journal = None
        if self._ledger is not None and plan.batched:
            journal = self._ledger.journal(
                plan.endpoint.path,
                plan.fingerprint,
                plan.input_fingerprint,
                fanout=plan.fanout_fingerprint,
                fanout_before=plan.fanout_before,
            )
        return Stream(plan, lambda: self._observer.operation(plan.endpoint.path, plan.total), journal)

    def _exchange(self, call: Call[R], stream: Stream[Any]) -> Exchange[R]:
        return Exchange(call, self._ctx, stopped=lambda: stream.stopped)

    def _request(self, exchange: Exchange[Any], send: Any) -> httpx.Request:
        request = self._http.build_request(send.method, send.path, json=send.json, params=send.params)
        exchange.sent(request.headers)
        return request

    def _observe(self, exchange: Exchange[Any], send: Send) -> RequestRecord:
        """Count (and trace) one request about to be sent."""
        return self._observer.request(
            send.path, method=send.method, size=exchange.size, attempt=exchange.attempts
        )

    def _settle(self, stream: Stream[Any], call: Call[Any], outcome: Done[Any] | Fail) -> None:
        """Count how a batch ended, then let the stream record it."""
        if call.batch_index is not None:
            if isinstance(outcome, Done):
                errors = getattr(outcome.value, "errors", None)
                rejected = len(errors) if isinstance(errors, list) else 0
                self._observer.settled(
                    stream.endpoint, call.size, delivered=True, ambiguous=False, rejected=rejected
                )
            elif outcome.ambiguous or isinstance(outcome.error, BrazeHTTPError):  # else: never sent
                self._observer.settled(
                    stream.endpoint, call.size, delivered=False, ambiguous=outcome.ambiguous
                )
        stream.settle(call, outcome)

    def _steps(
        self, exchange: Exchange[Any], call: Call[Any], stream: Stream[Any]
    ) -> Generator[Step, Any, None]:
        """One call from its first try to its outcome, settled on ``stream``, with every wait
        handed to the client (module docstring). Before each send the ledger must have recorded
        the start; a transport failure is classified here, whichever client met it."""
        action = exchange.start()
        while not isinstance(action, Done | Fail):
            if isinstance(action, Wait):
                try:
                    yield action
                except BaseException:  # cancelled (a deadline, a signal) while no request is out
                    if exchange.attempts and not exchange.ambiguous:  # answered: nothing applied
                        self._settle(stream, call, Fail(_interrupted(stream.endpoint), ambiguous=False))
                    raise
                action = exchange.advance(None)
                continue
            if (recording := stream.before_send(call)) is not None:
                try:
                    yield Recording(recording, stream.ledger_timeout)
                except Exception as exc:  # noqa: BLE001 - any store failure or timeout
                    action = stream.unrecorded(call, exc)  # not recorded: not sent
                    break
            request = self._request(exchange, action)
            seen = self._observe(exchange, action)
            try:
                response: httpx.Response = yield request
            except httpx.TransportError as error:
                seen.failed(error)
                action = exchange.advance(transport_failure(error))
                continue
            except BaseException as error:  # cancelled mid-request: the span still ends, saying so
                seen.failed(error)
                if call.batch_index is not None and not call.endpoint.repeatable:
                    # a send Braze may have: unknown, as the ledger says (a read or an update is
                    # simply made again)
                    self._observer.settled(stream.endpoint, call.size, delivered=False, ambiguous=True)
                raise
            answer = Answer(response.status_code, response.headers, response.content)
            seen.answered(answer.status)
            action = exchange.advance(answer)
        self._settle(stream, call, action)

    def _run(self, plan: Plan[R]) -> Any:
        """Carry out ``plan``: the one hook each client implements, blocking (``_sync``) or awaitable
        (``_async``); the shell itself never runs a plan."""
        raise NotImplementedError

    def _pages(self, pager: CampaignPager) -> Any:
        """Walk ``pager``'s pages: implemented by each client, as :meth:`_run`."""
        raise NotImplementedError

    # -- the public methods (documented on Planner) ---------------------------------------------

    send_message = plan_op(Planner.send_message)
    trigger_campaign = plan_op(Planner.trigger_campaign)
    trigger_canvas = plan_op(Planner.trigger_canvas)
    track_users = plan_op(Planner.track_users)
    export_users = plan_op(Planner.export_users)
    create_send_id = call_op(Planner.create_send_id)
    campaign_data_series = call_op(Planner.campaign_data_series)
    send_data_series = call_op(Planner.send_data_series)
    campaign_details = call_op(Planner.campaign_details)
    iter_campaigns = pages_op(Planner.iter_campaigns)
