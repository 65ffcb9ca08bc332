"""Self-tuning concurrency as pure decisions: probe alone, grow while useful, back off, stay bounded."""

from __future__ import annotations

from jobframe.braze._concurrency import AdaptiveLimit, Concurrency


def flow(limit: AdaptiveLimit, latency: float, answers: int, *, waited: float = 0.0) -> None:
    """A stream with input to spare: every free slot is refilled before the next answer arrives."""
    for _ in range(answers):
        while limit.can_start():
            limit.started()
        limit.finished(latency, waited=waited)


def test_the_first_request_goes_alone_then_the_limit_doubles_per_round() -> None:
    limit = AdaptiveLimit(ceiling=64)
    assert limit.limit == 1 and limit.can_start()
    limit.started()
    assert not limit.can_start()
    limit.finished(0.05)
    assert limit.limit == 2
    flow(limit, 0.05, 2)  # one round of 2 answers
    assert limit.limit == 4
    flow(limit, 0.05, 4 + 8)
    assert limit.limit == 16


def test_never_above_the_ceiling_nor_below_one() -> None:
    limit = AdaptiveLimit(ceiling=5)
    flow(limit, 0.05, 50)
    assert limit.limit == 5 and limit.in_flight == 4
    for _ in range(20):
        limit.started()
        limit.finished(None, failed=True)
        limit.hold = 0
    assert limit.limit == 1 and limit.value >= 1.0


def test_a_failure_halves_once_per_round() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.05, 15)
    assert limit.limit == 16
    limit.finished(0.05, failed=True)
    limit.finished(0.05, failed=True)  # the same round: not cut again
    assert limit.limit == 8 and not limit.slow_start and limit.hold == 8


def test_rising_latency_cuts_and_stable_latency_then_grows_about_one_per_round() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.05, 15)
    assert limit.limit == 16
    flow(limit, 0.20, 3)  # four times the best latency: requests are queueing somewhere
    assert limit.limit == 14  # cut by a tenth, once
    flow(limit, 0.05, 14)  # the round after a cut is not judged
    assert limit.limit == 14
    flow(limit, 0.05, 28)  # two rounds of congestion avoidance: +1 each
    assert limit.limit == 16


def test_no_growth_while_the_rate_limiter_holds_requests_back() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.05, 10, waited=0.2)
    assert limit.limit == 1
    flow(limit, 0.05, 1, waited=0.02)  # a short wait is not what limits it
    assert limit.limit == 2


def test_no_growth_when_the_limit_is_not_used() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.05, 3)
    assert limit.limit == 4
    for _ in range(10):  # one request at a time, well below the limit
        limit.started()
        limit.finished(0.05)
    assert limit.limit == 4


def test_small_jitter_at_sub_millisecond_latency_is_not_congestion() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.0005, 1)
    flow(limit, 0.002, 2)  # +1.5 ms: within the slack
    assert limit.limit == 4
    assert limit.slow_start
    flow(limit, 0.004, 4)  # +3.5 ms at a 0.5 ms best: queueing, once the recent average shows it
    assert not limit.slow_start and limit.hold > 0


def test_the_client_wide_ceiling_caps_every_endpoint_together() -> None:
    conc = Concurrency(ceiling=3)
    conc.of("/a").value = conc.of("/b").value = 3
    conc.started("/a")
    conc.started("/a")
    conc.started("/b")
    assert not conc.can_start("/a") and not conc.can_start("/b")
    conc.finished("/a", 0.05)
    assert conc.can_start("/b") and conc.in_flight == 2 and conc.of("/a").in_flight == 1
