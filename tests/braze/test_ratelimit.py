"""The rate limiter as pure decisions: header parsing, even spending, windows, pauses after a 429.

Exact numbers are used on purpose: these tests are what a mutation run (mutmut) must not get past.
"""

from __future__ import annotations

import itertools
import random
from email.utils import formatdate

import pytest

from jobframe.braze._ratelimit import (
    RESET_MARGIN,
    RateLimiter,
    backoff_delay,
    parse_rate_limit,
    parse_retry_after,
)

NOW = 1_700_000_000.0
EP = "/users/track"


class Edge(random.Random):
    """``uniform`` returns one end of its range: pins the jitter."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def limiter(base: float = 1.0, cap: float = 8.0, high: bool = True) -> RateLimiter:
    return RateLimiter(backoff_base=base, backoff_cap=cap, rng=Edge(high))


def headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }


# -- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1.0),
        (" 2 ", 2.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("soon", None),
        (None, None),
        ("nan", None),
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_http_date() -> None:
    assert parse_retry_after(formatdate(NOW + 10, usegmt=True), NOW) == pytest.approx(10.0)
    assert parse_retry_after(formatdate(NOW - 10, usegmt=True), NOW) == 0.0
    assert parse_retry_after("Thu, 99 Foo 2026 99:99:99 GMT", NOW) is None


def test_rate_limit_headers_are_read_case_insensitively() -> None:
    info = parse_rate_limit(
        {
            "x-ratelimit-limit": "10",
            "X-RATELIMIT-REMAINING": "4",
            "X-RateLimit-Reset": str(NOW + 2),
            "retry-after": "3",
        },
        NOW,
    )
    assert (info.limit, info.remaining, info.reset, info.retry_after) == (10, 4, NOW + 2, 3.0)
    assert parse_rate_limit({}, NOW) == parse_rate_limit({"X-RateLimit-Limit": "many"}, NOW)
    assert parse_rate_limit({}, NOW).limit is None and parse_rate_limit({}, NOW).retry_after is None


def test_small_reset_values_are_seconds_from_now() -> None:
    assert parse_rate_limit({"X-RateLimit-Reset": "30"}, NOW).reset == NOW + 30
    assert parse_rate_limit({"X-RateLimit-Reset": "999999999"}, NOW).reset == NOW + 999_999_999
    assert parse_rate_limit({"X-RateLimit-Reset": "1000000000"}, NOW).reset == 1_000_000_000


def test_backoff_is_exponential_with_equal_jitter_and_capped() -> None:
    assert [backoff_delay(n, 0.5, 4.0, Edge(True)) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [backoff_delay(n, 0.5, 4.0, Edge(False)) for n in (1, 2, 3, 4, 5)] == [0.25, 0.5, 1.0, 2.0, 2.0]


# -- budget and windows ----------------------------------------------------------------------------


def test_an_unknown_endpoint_lets_requests_through() -> None:
    rl = limiter()
    assert rl.acquire(EP, NOW) == 0.0
    assert rl.acquire(EP, NOW) == 0.0
    assert rl.wait_after(EP, NOW) == 0.0


def test_the_rest_of_a_window_is_spent_evenly_until_its_reset() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(10, 4, NOW + 2), NOW)
    assert rl.acquire(EP, NOW) == 0.0  # 4 left over 2 s: one every 0.5 s
    assert rl.acquire(EP, NOW) == pytest.approx(0.5)
    assert rl.acquire(EP, NOW + 0.4) == pytest.approx(0.1)
    assert rl.acquire(EP, NOW + 0.5) == 0.0  # 3 left over 1.5 s: still 0.5 s apart
    assert rl.acquire(EP, NOW + 0.5) == pytest.approx(0.5)
    assert rl.acquire(EP, NOW + 1.2) == 0.0  # woke late: what is left is spread over what is left
    assert rl.acquire(EP, NOW + 1.2) == pytest.approx(0.4)  # 2 left over 0.8 s


def test_a_spent_window_waits_for_its_reset_then_starts_full() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(10, 0, NOW + 2), NOW)
    assert rl.acquire(EP, NOW + 1) == pytest.approx(1 + RESET_MARGIN)
    assert rl.wait_after(EP, NOW + 1) == pytest.approx(1 + RESET_MARGIN)
    assert rl.acquire(EP, NOW + 2 + RESET_MARGIN / 2) > 0  # the margin is respected
    assert rl.acquire(EP, NOW + 2.01) == 0.0
    for _ in range(9):  # the new window: the limit minus the one just let through
        rl.acquire(EP, NOW + 2.01)
    assert rl.acquire(EP, NOW + 2.01) > 0


def test_answers_only_lower_the_estimate_and_a_new_window_subtracts_requests_in_flight() -> None:
    rl = limiter()
    for _ in range(3):
        rl.acquire(EP, NOW)
    rl.release(EP, headers(10, 5, NOW + 2), NOW)  # 2 still in flight: 5 - 2 = 3 left
    rl.release(EP, headers(10, 9, NOW + 2), NOW)  # same window, more remaining: ignored
    rl.release(EP, headers(10, 8, NOW + 1), NOW)  # an older window's late answer: ignored
    allowed = 0
    while rl.acquire(EP, NOW + 1.9999) == 0.0:
        allowed += 1
    assert allowed == 3


def test_a_passed_window_paces_by_the_learned_period() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(4, 3, NOW + 1), NOW)
    rl.acquire(EP, NOW + 0.5)
    rl.release(EP, headers(4, 3, NOW + 2), NOW + 1.1)  # next window: period 1 s
    rl.acquire(EP, NOW + 2.01)  # that window passed; the next one is expected at NOW + 3
    assert rl.acquire(EP, NOW + 2.01) == pytest.approx((3 - 2.01) / 4)  # 4 spread until NOW + 3


# -- 429 ---------------------------------------------------------------------------------------------


def test_a_429_with_headers_spends_the_window() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(10, 7, NOW + 2), NOW, rate_limited=True, sent_at=NOW)
    assert rl.acquire(EP, NOW + 0.5) == pytest.approx(1.5 + RESET_MARGIN)
    assert rl.wait_after(EP, NOW + 0.5) == pytest.approx(1.5 + RESET_MARGIN)


def test_a_429_with_retry_after_pauses_the_endpoint() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, {"Retry-After": "3"}, NOW, rate_limited=True, sent_at=NOW)
    assert rl.acquire(EP, NOW + 1) == pytest.approx(2.0)
    assert rl.wait_after(EP, NOW + 1) == pytest.approx(2.0)
    assert rl.acquire("/other", NOW + 1) == 0.0  # per endpoint
    assert rl.acquire(EP, NOW + 3) == 0.0


def test_headerless_429s_share_one_pause_that_grows_only_with_new_strikes() -> None:
    rl = limiter(base=1.0, high=True)
    for _ in range(3):
        rl.acquire(EP, NOW)
    rl.release(EP, {}, NOW + 0.1, rate_limited=True, sent_at=NOW)  # strike 1: 1 s
    assert rl.acquire(EP, NOW + 0.1) == pytest.approx(1.0)
    rl.release(EP, {}, NOW + 0.2, rate_limited=True, sent_at=NOW)  # sent before the pause: no new strike
    assert rl.acquire(EP, NOW + 0.2) == pytest.approx(0.9)
    assert rl.acquire(EP, NOW + 1.1) == 0.0
    rl.release(EP, {}, NOW + 1.2, rate_limited=True, sent_at=NOW + 1.1)  # strike 2: 2 s
    assert rl.acquire(EP, NOW + 1.2) == pytest.approx(2.0)
    assert rl.acquire(EP, NOW + 3.2) == 0.0
    rl.release(EP, None, NOW + 3.3)  # a transport failure says nothing: strikes stay
    rl.acquire(EP, NOW + 3.3)
    rl.release(EP, {}, NOW + 3.4, rate_limited=True, sent_at=NOW + 3.3)  # strike 3: 4 s
    assert rl.acquire(EP, NOW + 3.4) == pytest.approx(4.0)
    rl.acquire(EP, NOW + 7.4)
    rl.release(EP, {}, NOW + 7.5)  # an answer: strikes reset
    rl.acquire(EP, NOW + 7.5)
    rl.release(EP, {}, NOW + 7.6, rate_limited=True, sent_at=NOW + 7.5)
    assert rl.acquire(EP, NOW + 7.6) == pytest.approx(1.0)


def test_in_flight_never_goes_negative() -> None:
    rl = limiter()
    rl.release(EP, None, NOW)
    rl.release(EP, None, NOW)
    rl.acquire(EP, NOW)
    rl.release(EP, headers(2, 2, NOW + 1), NOW)  # nothing in flight: 2 left, spent evenly
    assert rl.acquire(EP, NOW) == 0.0
    assert rl.acquire(EP, NOW) == pytest.approx(0.5)


# -- edges ---------------------------------------------------------------------------------------------


def test_an_http_date_retry_after_is_read_from_the_headers() -> None:
    info = parse_rate_limit({"Retry-After": formatdate(NOW + 10, usegmt=True)}, NOW)
    assert info.retry_after == pytest.approx(10.0)


def test_a_pause_ends_exactly_on_time() -> None:
    rl = limiter()
    rl.release(EP, {"Retry-After": "2"}, NOW, rate_limited=True)
    assert rl.acquire(EP, NOW + 2) == 0.0


def test_a_window_passes_exactly_at_reset_plus_margin_and_never_answers_zero_before() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(3, 0, NOW + 2), NOW)
    assert rl.acquire(EP, NOW + 2 + RESET_MARGIN - 1e-5) > 0.0
    assert rl.acquire(EP, NOW + 2 + RESET_MARGIN) == 0.0


def test_a_passed_window_starts_from_the_limit_minus_requests_in_flight() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(3, 3, NOW + 1), NOW)
    rl.acquire(EP, NOW)
    rl.acquire(EP, NOW + 0.4)  # two in flight across the reset
    allowed = 0
    while rl.acquire(EP, NOW + 1.01) == 0.0:
        allowed += 1
    assert allowed == 1


def test_a_reset_without_limit_or_remaining_is_harmless() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, {"X-RateLimit-Reset": str(NOW + 1)}, NOW)  # no Remaining: nothing learned
    rl.release(EP, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW + 1)}, NOW)  # no Limit
    assert rl.acquire(EP, NOW + 0.5) > 0
    assert rl.acquire(EP, NOW + 1.01) == 0.0  # passed: without a limit, nothing is counted
    assert rl.acquire(EP, NOW + 1.01) == 0.0


def test_same_window_answers_lower_the_estimate() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(10, 8, NOW + 100), NOW)  # 8 left, spread over 100 s
    rl.release(EP, headers(10, 1, NOW + 100), NOW)  # someone else spent them: 1 left
    assert rl.acquire(EP, NOW) == 0.0
    assert rl.acquire(EP, NOW) == pytest.approx(100 + RESET_MARGIN)


def test_the_first_window_teaches_no_period() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(10, 9, NOW + 1), NOW)
    assert rl.acquire(EP, NOW + 1.01) == 0.0  # passed; no period known yet: no spacing
    assert rl.acquire(EP, NOW + 1.01) == 0.0


def test_a_period_is_learned_from_a_passed_window() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(10, 9, NOW + 1), NOW)
    rl.acquire(EP, NOW + 1.01)  # window 1 passed (reset unknown now)
    rl.release(EP, headers(10, 9, NOW + 3), NOW + 1.02)  # window 2 ends at NOW + 3: period 2 s
    rl.acquire(EP, NOW + 3.01)  # window 2 passed; expected to end at NOW + 5
    assert rl.acquire(EP, NOW + 3.01) == pytest.approx((5 - 3.01) / 10, rel=0.01)


def test_wait_after_is_zero_while_budget_is_left() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(10, 1, NOW + 2), NOW)
    assert rl.wait_after(EP, NOW) == 0.0
    rl.release(EP, headers(10, 0, NOW + 2), NOW)
    assert rl.wait_after(EP, NOW) == pytest.approx(2 + RESET_MARGIN)


def test_spacing_boundary_and_catch_up_limit() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(10, 4, NOW + 2), NOW)
    rl.acquire(EP, NOW)  # next slot: NOW + 0.5
    assert rl.acquire(EP, NOW + 0.5 - 0.001) == 0.0  # within a millisecond: not worth a sleep
    # next slot ≈ NOW + 1.0; at NOW + 1.5 that is more than one interval (0.5 s left / 2) late:
    # counting starts afresh from now instead of bursting to catch up
    assert rl.acquire(EP, NOW + 1.5) == 0.0
    assert rl.acquire(EP, NOW + 1.5) == pytest.approx(0.25, rel=0.01)


def test_the_request_let_through_at_the_end_of_a_pause_is_counted() -> None:
    rl = limiter()
    rl.release(EP, {"Retry-After": "2"}, NOW, rate_limited=True)
    assert rl.acquire(EP, NOW + 2) == 0.0
    assert rl.in_flight(EP) == 1 and rl.in_flight("/other") == 0


def test_more_in_flight_than_the_limit_across_a_reset_leaves_nothing() -> None:
    rl = limiter()
    for _ in range(3):
        rl.acquire(EP, NOW)  # nothing known yet: three go
    rl.release(EP, headers(2, 2, NOW + 1), NOW)  # limit 2, and two still in flight
    assert rl.in_flight(EP) == 2
    assert rl.acquire(EP, NOW + 1.01) > 0  # the new window's budget is taken by those two


def test_a_relative_reset_in_an_answer() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"}, NOW)
    assert rl.acquire(EP, NOW) == pytest.approx(2 + RESET_MARGIN)


def test_a_tenth_of_the_limit_may_go_at_once_then_requests_are_spaced() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(100, 100, NOW + 10), NOW)  # 0.1 s apart; a burst of 10 tolerated
    assert [rl.acquire(EP, NOW) for _ in range(10)] == [0.0] * 10
    assert 0.0 < rl.acquire(EP, NOW) < 0.12  # the next one within about one interval
    went = [t for t in (NOW + i * 0.01 for i in range(1, 501)) if rl.acquire(EP, t) == 0.0]
    gaps = [b - a for a, b in itertools.pairwise(went)]
    assert 40 <= len(went) <= 50 and all(0.09 < gap < 0.13 for gap in gaps)  # then ~90 over 10 s


def test_a_short_job_on_a_long_window_is_not_slowed_to_its_average() -> None:
    rl = limiter()
    rl.acquire(EP, NOW)
    rl.release(EP, headers(250_000, 249_999, NOW + 3600), NOW)  # the hourly default budget
    assert all(rl.acquire(EP, NOW + i * 0.001) == 0.0 for i in range(1_000))
