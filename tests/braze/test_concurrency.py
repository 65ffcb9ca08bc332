"""Self-tuning concurrency as pure decisions: probe alone, grow while useful, back off, stay bounded.

The numbers come from the rules in the module's docstring and docs/braze.md ("Concurrency tunes
itself"): threshold = best * 1.5 + 2 ms, recent = EWMA with weight 0.2, slow start +3 per answer,
then +1/limit; cuts: *0.5 on a failure, *(threshold / recent) clamped to [0.5, 0.9] on latency.
"""

from __future__ import annotations

import pytest

from jobframe.braze._concurrency import AdaptiveLimit, Concurrency


def flow(limit: AdaptiveLimit, latency: float, answers: int, *, waited: float = 0.0) -> None:
    """A stream with input to spare: every free slot is refilled before the next answer arrives."""
    for _ in range(answers):
        while limit.can_start():
            limit.started()
        limit.finished(latency, waited=waited)


def steady(
    ceiling: int = 64, value: float = 20.0, best: float = 0.1, recent: float | None = 0.1
) -> AdaptiveLimit:
    """A limit past slow start, its slots all taken."""
    limit = AdaptiveLimit(ceiling, value=value, best=best, recent=recent, slow_start=False)
    limit.in_flight = limit.limit
    return limit


def test_the_first_request_goes_alone_then_the_limit_quadruples_per_round() -> None:
    limit = AdaptiveLimit(ceiling=64)
    assert limit.limit == 1 and limit.can_start()
    limit.started()
    assert not limit.can_start()
    limit.finished(0.05)
    assert limit.value == 4.0 and limit.best == 0.05 and limit.recent == 0.05
    flow(limit, 0.05, 4)  # one round of 4 answers: +3 each
    assert limit.limit == 16
    flow(limit, 0.05, 16)
    assert limit.limit == 64 and limit.slow_start


def test_never_above_the_ceiling_nor_below_one() -> None:
    limit = AdaptiveLimit(ceiling=5)
    flow(limit, 0.05, 50)
    assert limit.value == 5.0 and limit.limit == 5 and limit.in_flight == 4
    for _ in range(20):
        limit.started()
        limit.hold = 0
        limit.finished(None, failed=True)
    assert limit.value == 1.0 and limit.limit == 1
    limit.value = 0.4  # whatever the value, one request may go
    assert limit.limit == 1
    limit.value = 7.9
    assert limit.limit == 5


def test_a_failure_halves_once_for_the_requests_in_flight_then_again() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.05, 5)
    while limit.can_start():
        limit.started()
    assert limit.limit == 16 and limit.in_flight == 16
    limit.finished(0.05, failed=True)
    assert limit.value == 8.0 and limit.slow_start is False and limit.hold == 15 and limit.recent is None
    for _ in range(15):  # sent before the cut: failures or not, they do not cut (nor grow) again
        limit.started()  # (refilled only to stay busy: the limit of 8 is reached already)
        limit.finished(0.05, failed=True)
    assert limit.value == 8.0 and limit.hold == 0
    limit.finished(0.05, failed=True)  # sent after the cut
    assert limit.value == 4.0 and limit.hold == limit.in_flight


def test_a_failure_without_latency_still_cuts_and_a_quiet_end_changes_nothing() -> None:
    limit = steady(value=10.0)
    limit.finished(None, failed=True)
    assert limit.value == 5.0
    limit = steady(value=10.0)
    limit.finished(None)  # ended unanswered without failing (never sent): says nothing
    assert limit.value == 10.0 and limit.recent == 0.1 and limit.best == 0.1 and limit.in_flight == 9


@pytest.mark.parametrize(
    ("recent", "value"),
    [
        (0.19, 16.0),  # threshold 0.152 / 0.19 = 0.8: back to the level whose latency is the threshold
        (0.16, 18.0),  # 0.95: a tenth at least
        (0.40, 10.0),  # 0.38: half at most
        (0.304, 10.0),  # exactly half
        (0.152 / 0.9, 18.0),  # exactly the mildest
    ],
)
def test_a_latency_rise_cuts_in_proportion_between_a_tenth_and_half(recent: float, value: float) -> None:
    limit = steady(value=20.0, recent=recent)
    limit.finished(recent)  # the recent average stays where it was
    assert limit.value == pytest.approx(value)
    assert not limit.slow_start and limit.hold == 19 and limit.recent is None


def test_a_cut_ends_slow_start_and_growth_is_then_one_per_round() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.05, 5)
    assert limit.limit == 16
    flow(limit, 0.20, 1)  # recent 0.08 > 0.077: cut by 0.077 / 0.08 = 0.96, so by the mildest
    assert limit.value == pytest.approx(14.4) and limit.hold == 15 and not limit.slow_start
    flow(limit, 0.05, 15)  # the answers of requests sent before the cut are not judged
    assert limit.value == pytest.approx(14.4) and limit.hold == 0 and limit.recent is None
    flow(limit, 0.05, 14)  # one round of congestion avoidance: about +1
    assert limit.limit == 15


def test_answers_held_back_after_a_cut_are_not_averaged_into_the_recent_latency() -> None:
    limit = steady(value=20.0, recent=0.4)
    limit.finished(0.4)
    assert limit.hold == 19
    for _ in range(19):
        limit.finished(1.0)  # stale and slow: ignored
    assert limit.recent is None and limit.value == 10.0
    limit.started()
    limit.finished(0.1)
    assert limit.recent == 0.1


def test_a_single_slow_answer_only_skips_a_step_and_a_sustained_rise_cuts() -> None:
    limit = steady(value=10.0, recent=0.1)  # threshold 0.152
    limit.finished(0.2)  # recent 0.12: not queueing yet, but no growth on this answer
    assert limit.value == 10.0 and limit.recent == pytest.approx(0.12)
    limit.started()
    limit.finished(0.1)  # recent 0.116
    assert limit.value == pytest.approx(10.1)
    for expected in (0.1328, 0.14624):
        limit.started()
        limit.finished(0.2)
        assert limit.recent == pytest.approx(expected) and limit.value == pytest.approx(10.1)
    limit.started()
    limit.finished(0.2)  # recent 0.159 > 0.152: the mildest cut
    assert limit.value == pytest.approx(10.1 * 0.9) and limit.recent is None


def test_at_the_threshold_is_not_queueing_above_it_is() -> None:
    limit = steady(value=10.0)
    threshold = 0.1 * 1.5 + 0.002
    limit.recent = threshold
    limit.finished(threshold)  # latency and recent exactly at the threshold: grows
    assert limit.value == pytest.approx(10.1) and limit.hold == 0
    limit = steady(value=10.0, recent=0.153)
    limit.finished(0.153)
    assert limit.value < 10.0


def test_no_growth_while_the_rate_limiter_holds_requests_back() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.05, 10, waited=0.2)  # each answer waited four times its latency
    assert limit.limit == 1
    flow(limit, 0.05, 3, waited=0.06)  # 1.2 times: still the limiter's doing
    assert limit.limit == 1
    flow(limit, 0.05, 1, waited=0.025)  # half its latency: not what limits it
    assert limit.limit == 4
    limit.wait_began()  # other requests of the endpoint wait for their turn now
    limit.wait_began()
    flow(limit, 0.05, 1)
    assert limit.limit == 4 and limit.waiting == 2
    limit.wait_ended()
    flow(limit, 0.05, 1)  # one still waits
    assert limit.limit == 4 and limit.waiting == 1
    limit.wait_ended()
    flow(limit, 0.05, 1)
    assert limit.limit == 7 and limit.waiting == 0
    limit.wait_ended()  # never below 0
    assert limit.waiting == 0


def test_no_growth_when_the_limit_is_not_used() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.05, 1)
    assert limit.limit == 4
    for _ in range(10):  # one request at a time, well below the limit
        limit.started()
        limit.finished(0.05)
    assert limit.limit == 4
    limit.in_flight = 4
    limit.finished(0.05)  # all slots taken: grows
    assert limit.limit == 7


def test_the_best_latency_is_the_lowest_seen_and_never_drifts_up() -> None:
    limit = steady(value=8.0, best=0.05, recent=0.06)
    for _ in range(5000):  # a long job just under the threshold (0.077): the baseline stays
        limit.finished(0.07)
        limit.started()
    assert limit.best == 0.05
    limit.finished(0.04)
    assert limit.best == 0.04


def test_a_request_alone_at_a_limit_of_one_is_the_baseline_even_when_slower() -> None:
    limit = steady(value=1.0, best=0.05, recent=None)
    assert limit.in_flight == 1
    limit.finished(0.09)  # the network became slower: learnt, and not taken for queueing
    assert limit.best == 0.09 and limit.recent == 0.09 and limit.value == 1.0 + 1.0 and limit.hold == 0
    limit = steady(value=1.0, best=0.05, recent=None)
    limit.in_flight = 2  # a request sent before a cut is still in flight: not alone
    limit.finished(0.09)
    assert limit.best == 0.05
    limit = steady(value=2.0, best=0.05, recent=None)
    limit.in_flight = 1  # alone, but at a limit of 2 it may have queued behind another
    limit.finished(0.09)
    assert limit.best == 0.05


def test_small_jitter_at_sub_millisecond_latency_is_not_congestion() -> None:
    limit = AdaptiveLimit(ceiling=64)
    flow(limit, 0.0005, 1)
    flow(limit, 0.00275, 4)  # +2.25 ms: within the slack (threshold 0.75 + 2 ms)
    assert limit.limit == 16 and limit.slow_start
    flow(limit, 0.008, 4)  # +7.5 ms at a 0.5 ms best: queueing, once the recent average shows it
    assert not limit.slow_start and limit.limit < 16


def test_the_client_wide_ceiling_caps_every_endpoint_together() -> None:
    conc = Concurrency(ceiling=3)
    conc.of("/a").value = conc.of("/b").value = 3
    conc.started("/a")
    conc.started("/a")
    conc.started("/b")
    assert not conc.can_start("/a") and not conc.can_start("/b")
    conc.finished("/a", 0.05)
    assert conc.can_start("/b") and conc.in_flight == 2 and conc.of("/a").in_flight == 1
    conc.of("/a").value = 1  # under the client's ceiling, the endpoint's own limit holds
    assert not conc.can_start("/a")
    conc.of("/a").value = 3
    assert conc.of("/a").best == 0.05 and conc.of("/b").best is None
    conc.finished("/a", 0.05, failed=True, waited=0.0)
    assert conc.of("/a").value == 1.5 and conc.in_flight == 1
    conc.finished("/b", None)
    conc.finished("/b", None)  # one too many: never below 0
    assert conc.in_flight == 0 and conc.of("/b").in_flight == 0


def test_a_wait_counts_for_its_endpoint_only() -> None:
    conc = Concurrency(ceiling=16)
    conc.wait_began("/a")
    assert conc.of("/a").waiting == 1 and conc.of("/b").waiting == 0
    conc.started("/b")
    conc.finished("/b", 0.05)
    assert conc.of("/b").limit == 4  # /b grows while /a waits
    conc.started("/a")
    conc.finished("/a", 0.05, waited=0.001)
    assert conc.of("/a").limit == 1
    conc.wait_ended("/a")
    assert conc.of("/a").waiting == 0


def test_waiting_passes_the_time_waited_through() -> None:
    conc = Concurrency(ceiling=16)
    conc.started("/a")
    conc.finished("/a", 0.05, waited=0.2)
    assert conc.of("/a").limit == 1
