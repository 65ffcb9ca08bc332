"""The tuner in the virtual-time model of the client (concurrency_sim.py): the class of workloads.

Deterministic (a seeded model, no wall clock): latency x server workers x client CPU x a machine
that stalls the client, each run against every fixed level from 1 to the ceiling. The promises
(docs/braze.md, "Concurrency tunes itself"): in steady state the tuner is within 5 % of the best
fixed level (15 % where the client's own stalls are several times the server's latency and look
like queueing); it never goes above the ceiling; it halves on 429s and settles under a server's
limit; a client whose CPU is the bottleneck keeps few requests in flight however long the job;
a binding rate limit keeps 4 in flight at most; the ceiling is reached two round trips after
the probe.
"""

from __future__ import annotations

import pytest

from tests.braze.concurrency_sim import MATRIX, Fixed, Scenario, best_fixed, simulate

REQUESTS = 1500


@pytest.mark.parametrize(
    "scenario",
    MATRIX,
    ids=lambda s: f"{s.latency * 1000:g}ms-{s.workers}w-cpu{s.send_cpu * 1000:g}ms-stall{s.stall * 1000:g}ms",
)
def test_steady_state_is_within_reach_of_the_best_fixed_level(scenario: Scenario) -> None:
    tuned = simulate(scenario, requests=REQUESTS)
    level, best = best_fixed(scenario, requests=REQUESTS)
    bound = 1.15 if scenario.stall > scenario.latency else 1.05
    assert best / tuned.throughput <= bound, (level, best, tuned.throughput)
    assert tuned.peak <= 16
    assert max(p.limit for p in tuned.trace) <= 16


@pytest.mark.parametrize("ceiling", [1, 3, 16])
def test_never_above_the_ceiling(ceiling: int) -> None:
    from jobframe.braze._concurrency import Concurrency  # noqa: PLC0415

    result = simulate(Scenario(latency=0.05), Concurrency(ceiling), requests=300)
    assert result.peak == ceiling  # reached where latency is the limit, never passed
    cpu_bound = Scenario(latency=0.0, send_cpu=0.001, recv_cpu=0.001)
    result = simulate(cpu_bound, Concurrency(ceiling), requests=300)
    assert result.peak <= ceiling


@pytest.mark.parametrize("server_limit", [3, 6, 11])
def test_429s_halve_it_far_below_the_429s_of_the_ceiling(server_limit: int) -> None:
    """A server that rejects what it cannot take: the tuner probes its limit and halves on the 429
    (additive increase, multiplicative decrease: between half the limit and the limit, about 3/4
    of it on average), where concurrency fixed at the ceiling only collects 429s."""
    scenario = Scenario(latency=0.05, reject_above=server_limit)
    tuned = simulate(scenario, requests=REQUESTS)
    fixed = simulate(scenario, Fixed(16), requests=REQUESTS)
    assert tuned.rejected * 5 <= fixed.rejected
    assert tuned.throughput >= 0.75 * best_fixed(scenario, requests=REQUESTS)[1]


def test_a_429_halves_the_limit_reached_in_slow_start() -> None:
    result = simulate(Scenario(latency=0.05, reject_above=12), requests=200)
    first = next(i for i, p in enumerate(result.trace) if p.failed)
    assert result.trace[first].limit == result.trace[first - 1].limit // 2


@pytest.mark.parametrize("requests", [200, 2000, 8000])
def test_a_client_bound_by_its_own_cpu_keeps_few_in_flight_however_long_the_job(requests: int) -> None:
    scenario = Scenario(latency=0.0, send_cpu=0.001, recv_cpu=0.001)
    result = simulate(scenario, requests=requests)
    later = [p.limit for p in result.trace[len(result.trace) // 2 :]]
    assert max(later) <= 6  # 16 in flight would only queue on the client's own loop
    assert simulate(scenario, Fixed(16), requests=requests).throughput / result.throughput <= 1.02


def test_a_binding_rate_limit_keeps_four_in_flight_at_most() -> None:
    result = simulate(Scenario(latency=0.005, rate=20 / 3), requests=70)
    assert result.peak <= 4 and result.rejected == 0


@pytest.mark.parametrize("stall", [0.0, 0.015])
def test_the_ceiling_is_reached_two_round_trips_after_the_probe(stall: float) -> None:
    scenario = Scenario(latency=0.05, stall=stall)
    result = simulate(scenario, requests=400)
    reached = next(p.at for p in result.trace if p.limit == 16)
    assert reached <= 3 * (scenario.latency * (1 + scenario.jitter) + stall + 0.005)
    later = [p.limit for p in result.trace[len(result.trace) // 5 :]]
    assert min(later) == 16  # a machine's stalls at 50 ms are not taken for queueing
    short = simulate(scenario, requests=134).elapsed / simulate(scenario, Fixed(16), requests=134).elapsed
    assert short <= 1.2  # 134 batches: the probe and two round trips are what the ramp costs
