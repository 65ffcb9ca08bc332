"""The request core as pure decisions: success, error mapping, 429, 5xx and transport retries.

No sockets, a hand-driven clock; each test pins one decision a mutation could silently change.
"""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from jobframe.braze import _operations as ep
from jobframe.braze._client_base import never_sent, transport_failure
from jobframe.braze._errors import (
    BrazeAuthError,
    BrazeBadRequestError,
    BrazeError,
    BrazeNotFoundError,
    BrazePermissionError,
    BrazeRateLimitedError,
    BrazeServerDuplicatePossibleError,
    BrazeServerError,
    BrazeTransportDuplicatePossibleError,
    BrazeTransportError,
)
from jobframe.braze._exchange import (
    Answer,
    Call,
    Done,
    Exchange,
    ExchangeContext,
    Fail,
    NotSentError,
    Send,
    Wait,
)
from jobframe.braze._ratelimit import RESET_MARGIN, RateLimiter
from jobframe.braze._settings import RateLimitSettings, RetrySettings
from jobframe.logs import Redact

NOW = 1_700_000_000.0
SECRET = "key-8c1f2e9a"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class High(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def context(clock: Clock, *, attempts: int = 3, max_wait: float = 10.0) -> ExchangeContext:
    redact = Redact()
    redact.add_secrets([SECRET])
    rng = High(0)
    return ExchangeContext(
        retry=RetrySettings(max_attempts=attempts, backoff_base=1.0, backoff_cap=4.0),
        rate_limit=RateLimitSettings(max_wait=max_wait),
        limiter=RateLimiter(backoff_base=1.0, backoff_cap=4.0, rng=rng),
        redact=redact,
        clock=clock,
        rng=rng,
    )


def exchange(
    endpoint: ep.Endpoint = ep.USERS_TRACK, *, unsafe: bool = False, clock: Clock | None = None, **kw: Any
) -> tuple[Exchange[Any], Clock]:
    clock = clock or Clock()
    call = Call(endpoint, dict, json={"attributes": [{"external_id": "u"}]}, retry_unsafe=unsafe)
    return Exchange(call, context(clock, **kw)), clock


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
    content = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status, headers or {}, content)


def first_send(ex: Exchange[Any]) -> Send:
    action = ex.start()
    assert isinstance(action, Send)
    return action


def failure(action: Any) -> BrazeError:
    assert isinstance(action, Fail), action
    return action.error


# -- success -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 299])
def test_every_2xx_is_success(status: int) -> None:
    ex, _ = exchange()
    send = first_send(ex)
    assert (send.method, send.path, send.json) == (
        "POST",
        "/users/track",
        {"attributes": [{"external_id": "u"}]},
    )
    assert ex.advance(answer(status, {"message": "success", "n": 1})) == Done({"message": "success", "n": 1})
    assert ex.attempts == 1 and not ex.congested and not ex.ambiguous


def test_latency_and_a_non_object_success_body() -> None:
    ex, clock = exchange()
    first_send(ex)
    clock.now += 0.25
    assert ex.advance(answer(201, [1, 2])) == Done({})
    assert ex.latency == pytest.approx(0.25)


def test_an_unexpected_success_body_is_an_error() -> None:
    call = Call(ep.SENDS_ID_CREATE, _strict, json={})
    ex = Exchange(call, context(Clock()))
    ex.start()
    error = failure(ex.advance(answer(201, {"message": "success"})))
    assert type(error) is BrazeError and "unexpected success body" in str(error)


def _strict(body: Any) -> Any:
    from jobframe.braze._results import SendIdResult  # noqa: PLC0415

    return SendIdResult.model_validate(body)


# -- errors that end the call ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "exit_code"),
    [
        (300, BrazeBadRequestError, 1),
        (302, BrazeBadRequestError, 1),
        (400, BrazeBadRequestError, 1),
        (401, BrazeAuthError, 78),
        (403, BrazePermissionError, 78),
        (404, BrazeNotFoundError, 1),
        (409, BrazeBadRequestError, 1),
        (422, BrazeBadRequestError, 1),
        (199, BrazeBadRequestError, 1),
    ],
)
def test_client_errors_map_to_their_class_and_are_not_ambiguous(
    status: int, kind: type, exit_code: int
) -> None:
    ex, _ = exchange()
    ex.start()
    action = ex.advance(answer(status, {"message": "nope", "errors": ["e1"]}))
    error = failure(action)
    assert type(error) is kind and error.exit_code == exit_code
    assert error.status == status and error.braze_message == "nope" and error.errors == ["e1"]  # type: ignore[attr-defined]
    assert str(error) == f"/users/track: HTTP {status}: nope"
    assert isinstance(action, Fail) and action.ambiguous is False


def test_error_bodies_non_json_empty_and_echoing_the_key() -> None:
    ex, _ = exchange()
    ex.start()
    assert "non-JSON body: '<p>bad</p>'" in str(failure(ex.advance(answer(400, b"<p>bad</p>"))))
    ex, _ = exchange()
    ex.start()
    assert str(failure(ex.advance(answer(400)))).endswith("HTTP 400: empty body")
    ex, _ = exchange()
    ex.start()
    assert str(failure(ex.advance(answer(400, {"errors": []})))).endswith("no message")
    ex, _ = exchange()
    ex.start()
    error = failure(ex.advance(answer(400, {"message": f"bad {SECRET}", "errors": [f"x{SECRET}\\"]})))
    assert SECRET not in repr(vars(error)) and "***" in str(error)


# -- 429 -----------------------------------------------------------------------------------------------


def test_a_429_is_reported_to_the_limiter_and_waits_for_the_reset() -> None:
    ex, clock = exchange()
    ex.start()
    reset = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": str(NOW + 2)}
    action = ex.advance(answer(429, {"message": "slow down"}, reset))
    assert action == Wait(pytest.approx(2 + RESET_MARGIN))
    assert ex.congested and not ex.ambiguous
    clock.now += 2 + RESET_MARGIN
    assert isinstance(ex.advance(None), Send)
    assert ex.attempts == 2 and ex.waited == pytest.approx(2 + RESET_MARGIN)


@pytest.mark.parametrize(("wait", "fails"), [(9.9, False), (10.0 - RESET_MARGIN, False), (10.5, True)])
def test_a_429_wait_beyond_max_wait_fails_at_once(wait: float, fails: bool) -> None:
    ex, _ = exchange(max_wait=10.0)
    ex.start()
    action = ex.advance(answer(429, {"message": "m"}, {"Retry-After": str(wait)}))
    if fails:
        error = failure(action)
        assert isinstance(error, BrazeRateLimitedError) and error.exit_code == 75 and "max_wait" in str(error)
        assert error.status == 429 and error.braze_message == "m"  # type: ignore[attr-defined]
    else:
        assert action == Wait(pytest.approx(wait))


def test_429s_give_up_after_max_attempts() -> None:
    ex, clock = exchange(attempts=2)
    ex.start()
    assert isinstance(ex.advance(answer(429, {}, {"Retry-After": "1"})), Wait)
    clock.now += 1
    assert isinstance(ex.advance(None), Send)
    error = failure(ex.advance(answer(429, {"message": "m"}, {"Retry-After": "1"})))
    assert isinstance(error, BrazeRateLimitedError) and "gave up after 2 attempts" in str(error)


def test_a_headerless_429_pauses_for_one_backoff() -> None:
    ex, _ = exchange()
    ex.start()
    assert ex.advance(answer(429)) == Wait(pytest.approx(1.0))  # base 1 s, jitter at its top


def test_a_limiter_wait_beyond_max_wait_fails_before_sending() -> None:
    clock = Clock()
    ctx = context(clock, max_wait=1.0)
    ctx.limiter.release(ep.USERS_TRACK.path, {"Retry-After": "5"}, NOW, rate_limited=True)
    error = failure(Exchange(Call(ep.USERS_TRACK, dict), ctx).start())
    assert isinstance(error, BrazeRateLimitedError) and "beyond rate_limit.max_wait" in str(error)


# -- 5xx -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint", [ep.MESSAGES_SEND, ep.USERS_TRACK, ep.CAMPAIGNS_TRIGGER_SEND, ep.SENDS_ID_CREATE]
)
def test_5xx_on_an_unsafe_endpoint_is_never_repeated(endpoint: ep.Endpoint) -> None:
    ex, _ = exchange(endpoint)
    ex.start()
    action = ex.advance(answer(503, {"message": "down"}))
    error = failure(action)
    assert isinstance(error, BrazeServerDuplicatePossibleError) and error.exit_code == 75
    assert isinstance(action, Fail) and action.ambiguous and "duplicate possible" in str(error)


def test_5xx_on_a_read_is_retried_then_gives_up_unambiguous() -> None:
    ex, clock = exchange(ep.CAMPAIGNS_DETAILS, attempts=3)
    ex.start()
    assert ex.advance(answer(500)) == Wait(1.0)
    clock.now += 1
    ex.advance(None)
    assert ex.advance(answer(502)) == Wait(2.0)  # exponential
    clock.now += 2
    ex.advance(None)
    action = ex.advance(answer(500, {"message": "x"}))
    error = failure(action)
    assert type(error) is BrazeServerError and "gave up after 3 attempts" in str(error)
    assert isinstance(action, Fail) and not action.ambiguous


def test_5xx_retry_after_is_honoured_and_bounded() -> None:
    ex, _ = exchange(ep.CAMPAIGNS_DETAILS)
    ex.start()
    assert ex.advance(answer(503, {}, {"Retry-After": "3"})) == Wait(3.0)
    ex, _ = exchange(ep.CAMPAIGNS_DETAILS, max_wait=2.0)
    ex.start()
    assert "beyond rate_limit.max_wait" in str(failure(ex.advance(answer(503, {}, {"Retry-After": "3"}))))


def test_retry_unsafe_repeats_a_send_and_remembers_it_may_have_been_applied() -> None:
    ex, clock = exchange(ep.MESSAGES_SEND, unsafe=True, attempts=2)
    ex.start()
    assert isinstance(ex.advance(answer(500)), Wait)
    clock.now += 1
    ex.advance(None)
    action = ex.advance(answer(500))
    assert isinstance(failure(action), BrazeServerError) and isinstance(action, Fail) and action.ambiguous


# -- transport -------------------------------------------------------------------------------------------


REQUEST = httpx.Request("POST", "http://x/users/track")


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")]
)
def test_never_sent_errors_are_retried_for_every_endpoint(error: Exception) -> None:
    assert never_sent(error)
    ex, _ = exchange(ep.MESSAGES_SEND)
    ex.start()
    assert ex.advance(transport_failure(error)) == Wait(1.0)
    assert ex.congested and not ex.ambiguous


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout("t"), httpx.RemoteProtocolError("p"), httpx.WriteError("w"), httpx.ReadError("r")],
)
def test_errors_after_writing_are_ambiguous_for_sends_and_retried_for_reads(error: Exception) -> None:
    assert not never_sent(error)
    ex, _ = exchange(ep.MESSAGES_SEND)
    ex.start()
    action = ex.advance(transport_failure(error))
    assert isinstance(failure(action), BrazeTransportDuplicatePossibleError) and isinstance(action, Fail)
    assert action.ambiguous and failure(action).exit_code == 75
    ex, _ = exchange(ep.CAMPAIGNS_LIST)
    ex.start()
    assert ex.advance(transport_failure(error)) == Wait(1.0)


def test_transport_failures_give_up_after_max_attempts() -> None:
    ex, clock = exchange(ep.CAMPAIGNS_LIST, attempts=2)
    ex.start()
    ex.advance(transport_failure(httpx.ConnectError(f"no route {SECRET}")))
    clock.now += 1
    ex.advance(None)
    action = ex.advance(transport_failure(httpx.ConnectError(f"no route {SECRET}")))
    error = failure(action)
    assert type(error) is BrazeTransportError and "gave up after 2 attempts" in str(error)
    assert SECRET not in str(error) and isinstance(action, Fail) and not action.ambiguous


# -- stopping --------------------------------------------------------------------------------------------


def test_a_stopped_call_sends_nothing_more() -> None:
    stopped = False
    clock = Clock()
    ex = Exchange(Call(ep.USERS_TRACK, dict), context(clock), stopped=lambda: stopped)
    assert isinstance(ex.start(), Send)
    assert isinstance(ex.advance(transport_failure(httpx.ConnectError("x"))), Wait)
    stopped = True
    action = ex.advance(None)
    assert isinstance(failure(action), NotSentError) and isinstance(action, Fail) and not action.ambiguous
    assert ex.attempts == 1


# -- what every error carries ------------------------------------------------------------------------


def test_errors_carry_endpoint_attempts_status_message_and_errors() -> None:
    ex, clock = exchange(ep.CAMPAIGNS_DETAILS, attempts=2)
    ex.start()
    ex.advance(answer(500))
    clock.now += 1
    ex.advance(None)
    error = failure(ex.advance(answer(502, {"message": "bad gateway", "errors": ["e"]})))
    assert (error.endpoint, error.attempts) == ("/campaigns/details", 2)
    assert (error.status, error.braze_message, error.errors) == (502, "bad gateway", ["e"])  # type: ignore[attr-defined]

    ex, _ = exchange(ep.MESSAGES_SEND)
    ex.start()
    error = failure(ex.advance(answer(503, {"message": "down", "errors": ["x"]})))
    assert (error.status, error.braze_message, error.errors, error.attempts) == (503, "down", ["x"], 1)  # type: ignore[attr-defined]
    assert str(error).startswith("/messages/send: HTTP 503: down; duplicate possible")

    ex, _ = exchange(ep.CAMPAIGNS_DETAILS, max_wait=2.0)
    ex.start()
    error = failure(ex.advance(answer(503, {"message": "later", "errors": ["y"]}, {"Retry-After": "3"})))
    assert (error.status, error.braze_message, error.errors) == (503, "later", ["y"])  # type: ignore[attr-defined]

    ex, clock = exchange(attempts=1)
    ex.start()
    error = failure(ex.advance(answer(429, {"message": "slow", "errors": ["z"]}, {"Retry-After": "1"})))
    assert (error.status, error.braze_message, error.errors, error.attempts) == (429, "slow", ["z"], 1)  # type: ignore[attr-defined]

    ex, _ = exchange(max_wait=1.0)
    ex.start()
    error = failure(ex.advance(answer(429, {"message": "slow", "errors": ["z"]}, {"Retry-After": "5"})))
    assert (error.status, error.errors) == (429, ["z"])  # type: ignore[attr-defined]


def test_non_list_errors_and_long_or_undecodable_bodies() -> None:
    ex, _ = exchange()
    ex.start()
    error = failure(ex.advance(answer(400, {"message": "m", "errors": "not a list"})))
    assert error.errors == []  # type: ignore[attr-defined]
    ex, _ = exchange()
    ex.start()
    body = b"\xff" + b"x" * 300
    error = failure(ex.advance(answer(400, body)))
    assert error.braze_message == f"non-JSON body: {chr(0xFFFD) + 'x' * 199!r}"  # type: ignore[attr-defined]


def test_unexpected_success_body_error_names_endpoint_and_attempts() -> None:
    ex = Exchange(Call(ep.SENDS_ID_CREATE, _strict, json={}), context(Clock()))
    ex.start()
    error = failure(ex.advance(answer(201, {"message": "success"})))
    assert (error.endpoint, error.attempts) == ("/sends/id/create", 1)


def test_transport_errors_carry_their_detail_and_count() -> None:
    ex, _ = exchange(ep.MESSAGES_SEND)
    ex.start()
    error = failure(ex.advance(transport_failure(httpx.ReadTimeout("read timed out"))))
    assert str(error).startswith("/messages/send: ReadTimeout: read timed out; duplicate possible")
    assert (error.endpoint, error.attempts) == ("/messages/send", 1)
    ex, _ = exchange(ep.CAMPAIGNS_LIST, attempts=1)
    ex.start()
    error = failure(ex.advance(transport_failure(httpx.ConnectError("refused"))))
    assert str(error) == "/campaigns/list: ConnectError: refused (gave up after 1 attempts)"
    assert (error.endpoint, error.attempts) == ("/campaigns/list", 1)


def test_fresh_state_and_what_is_measured() -> None:
    ex, clock = exchange()
    assert ex.latency is None and ex.congested is False and ex.ambiguous is False and ex.waited == 0.0
    ex.start()
    ex.advance(transport_failure(httpx.ConnectError("x")))
    assert ex.latency is None and ex.congested is True
    assert ex._ctx.limiter.in_flight("/users/track") == 0  # a failed request is accounted for
    clock.now += 1
    ex.advance(None)
    clock.now += 0.5
    ex.advance(answer(500, {}))  # unsafe endpoint: ends here
    assert ex.congested is True and ex.latency == pytest.approx(0.5)


def test_waits_add_up_and_get_calls_send_their_query() -> None:
    clock = Clock()
    ctx = context(clock)
    ctx.limiter.release("/campaigns/list", {"Retry-After": "1"}, NOW, rate_limited=True)
    ex = Exchange(Call(ep.CAMPAIGNS_LIST, dict, params={"page": 2}), ctx)
    assert ex.start() == Wait(pytest.approx(1.0))
    clock.now += 0.4
    assert ex.advance(None) == Wait(pytest.approx(0.6))
    assert ex.waited == pytest.approx(1.6)
    clock.now += 0.6
    send = ex.advance(None)
    assert isinstance(send, Send) and send.method == "GET" and send.params == {"page": 2}


def test_a_wait_of_exactly_max_wait_is_still_waited() -> None:
    ex, _ = exchange(max_wait=10.0)
    ex.start()
    assert ex.advance(answer(429, {}, {"Retry-After": "10"})) == Wait(pytest.approx(10.0))
    clock = Clock()
    ctx = context(clock, max_wait=5.0)
    ctx.limiter.release("/users/track", {"Retry-After": "5"}, NOW, rate_limited=True)
    assert Exchange(Call(ep.USERS_TRACK, dict), ctx).start() == Wait(pytest.approx(5.0))
    ex, _ = exchange(ep.CAMPAIGNS_DETAILS, max_wait=3.0)
    ex.start()
    assert ex.advance(answer(503, {}, {"Retry-After": "3"})) == Wait(3.0)


def test_a_limiter_refusal_is_a_429_rate_limit_error() -> None:
    clock = Clock()
    ctx = context(clock, max_wait=1.0)
    ctx.limiter.release("/users/track", {"Retry-After": "5"}, NOW, rate_limited=True)
    error = failure(Exchange(Call(ep.USERS_TRACK, dict), ctx).start())
    assert error.status == 429 and error.attempts == 0 and error.endpoint == "/users/track"  # type: ignore[attr-defined]


def test_a_429_for_a_request_sent_before_the_pause_does_not_lengthen_it() -> None:
    clock = Clock()
    ctx = context(clock)
    first, second = (Exchange(Call(ep.USERS_TRACK, dict), ctx) for _ in range(2))
    first.start()
    second.start()
    clock.now += 0.1
    assert first.advance(answer(429)) == Wait(pytest.approx(1.0))  # strike 1: 1 s from now
    clock.now += 0.1
    assert second.advance(answer(429)) == Wait(pytest.approx(0.9))  # the same pause


def test_unsafe_retries_remember_a_possible_effect() -> None:
    ex, clock = exchange(ep.MESSAGES_SEND, unsafe=True, attempts=2)
    ex.start()
    assert isinstance(ex.advance(transport_failure(httpx.ReadTimeout("t"))), Wait) and ex.ambiguous
    clock.now += 1
    ex.advance(None)
    action = ex.advance(transport_failure(httpx.ConnectError("refused")))
    assert isinstance(action, Fail) and action.ambiguous  # the first attempt may have been applied
    ex, clock = exchange(ep.CAMPAIGNS_LIST, attempts=1)
    ex.start()
    action = ex.advance(transport_failure(httpx.ReadTimeout("t")))
    assert isinstance(action, Fail) and not action.ambiguous  # a read: repeating it is harmless


def test_not_sent_names_why() -> None:
    ex = Exchange(Call(ep.USERS_TRACK, dict), context(Clock()), stopped=lambda: True)
    error = failure(ex.start())
    assert (
        str(error) == "/users/track: not sent: an earlier batch of this call failed" and error.attempts == 0
    )


def test_errors_after_retries_count_every_attempt() -> None:
    ex, clock = exchange(ep.MESSAGES_SEND)
    ex.start()
    ex.advance(transport_failure(httpx.ConnectError("refused")))  # never sent: retried
    clock.now += 1
    ex.advance(None)
    assert ex._ctx.limiter.in_flight("/messages/send") == 1
    error = failure(ex.advance(transport_failure(httpx.ReadTimeout("t"))))
    assert error.attempts == 2 and ex._ctx.limiter.in_flight("/messages/send") == 0
    ex, clock = exchange(ep.CAMPAIGNS_LIST, attempts=2)
    ex.start()
    ex.advance(transport_failure(httpx.ConnectError("refused")))
    clock.now += 1
    ex.advance(None)
    assert failure(ex.advance(transport_failure(httpx.ConnectError("refused")))).attempts == 2
    call = Call(ep.SENDS_DATA_SERIES, _strict)
    ex = Exchange(call, context(clock := Clock()))
    ex.start()
    ex.advance(answer(500))
    clock.now += 1
    ex.advance(None)
    assert failure(ex.advance(answer(200, {"message": "success"}))).attempts == 2


def test_the_core_imports_no_http_library() -> None:
    """Sans-I/O: the shells translate their HTTP library's errors into a ``TransportFailure``."""
    import ast  # noqa: PLC0415
    import inspect  # noqa: PLC0415

    from jobframe.braze import _bulk, _exchange, _ratelimit  # noqa: PLC0415

    for module in (_exchange, _ratelimit, _bulk):
        tree = ast.parse(inspect.getsource(module))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not imported & {"httpx", "asyncio", "socket"}, module.__name__
