"""The pure decisions behind the lifecycle, 1: the deadline schedule (``jobframe.deadline``); what
a signal means is in ``tests/run/test_reactions.py``, which exit code an outcome gets in
``tests/run/test_outcome.py``. Exact values and boundaries, so a mutation run cannot slip past
(``docs/lifecycle.md`` has the mutmut command and score)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from jobframe.deadline import (
    EXIT_ALLOWANCE_S,
    MAX_MARGIN_SHARE,
    MIN_TEARDOWN_S,
    STOP_SLACK_S,
    TAKEOVER_SLACK_S,
    Budget,
    Deadline,
    Schedule,
    effective_deadline,
    parse_rfc3339,
)

DEFAULT = Budget()  # margin 10, shutdown 5, cancel grace 2


def test_the_constants_the_docs_state() -> None:
    assert (DEFAULT.deadline_margin, DEFAULT.shutdown_timeout, DEFAULT.cancel_grace) == (10.0, 5.0, 2.0)
    assert MAX_MARGIN_SHARE == 0.25
    assert MIN_TEARDOWN_S == 0.5
    assert STOP_SLACK_S == 2.0
    assert (TAKEOVER_SLACK_S, EXIT_ALLOWANCE_S) == (0.5, 0.25)


@pytest.mark.parametrize(
    ("budget", "min_seconds", "expected"),
    [
        (DEFAULT, 0.0, 15.0),  # margin 10 + teardown 5
        (DEFAULT, 100.0, 115.0),
        (Budget(deadline_margin=3, shutdown_timeout=20, cancel_grace=9), 7.0, 30.0),  # grace not counted
        (Budget(deadline_margin=0, shutdown_timeout=0), 0.0, 0.0),
    ],
)
def test_what_an_attempt_needs_is_work_then_margin_then_teardown(
    budget: Budget, min_seconds: float, expected: float
) -> None:
    assert budget.attempt_needs(min_seconds) == expected


def test_an_attempt_that_starts_with_what_it_needs_gets_its_work_time_and_no_warning() -> None:
    for budget in (DEFAULT, Budget(deadline_margin=2, shutdown_timeout=30), Budget(deadline_margin=60)):
        for min_seconds in (0.0, 1.0, 45.0, 600.0):
            schedule = Schedule(budget.attempt_needs(min_seconds), budget)
            assert schedule.cancel_at is not None and schedule.cancel_at >= min_seconds
            assert not schedule.is_short(min_seconds)


@pytest.mark.parametrize(
    ("budget", "exit_grace", "expected"),
    [
        (DEFAULT, 2.0, 11.0),  # cancel grace 2 + teardown 5 + exit grace 2 + slack 2
        (Budget(deadline_margin=99, shutdown_timeout=20, cancel_grace=3), 0.0, 25.0),  # margin not counted
        (Budget(shutdown_timeout=0, cancel_grace=0), 7.0, 9.0),
    ],
)
def test_the_stop_grace_covers_cancel_teardown_and_exit(
    budget: Budget, exit_grace: float, expected: float
) -> None:
    assert budget.stop_grace(exit_grace) == expected


@pytest.mark.parametrize("field", ["deadline_margin", "shutdown_timeout", "cancel_grace"])
@pytest.mark.parametrize("value", [-0.001, math.inf, math.nan])
def test_a_budget_refuses_what_no_clock_can_keep(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        Budget(**{field: value})


@pytest.mark.parametrize("field", ["deadline_margin", "shutdown_timeout", "cancel_grace"])
def test_a_budget_of_zero_is_allowed(field: str) -> None:
    assert getattr(Budget(**{field: 0.0}), field) == 0.0


# -- the margin and the cancel time --------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "margin", "shutdown", "expected_margin"),
    [
        (3600.0, 10.0, 5.0, 10.0),  # plenty of time: the full margin
        (40.0, 10.0, 5.0, 10.0),  # a quarter (10) equals the margin
        (20.0, 10.0, 5.0, 5.0),  # a quarter of the time left (5), which also covers teardown
        (12.0, 10.0, 5.0, 5.0),  # the teardown budget (5) wins over the quarter (3)
        (8.0, 10.0, 3.0, 3.0),  # --timeout 8 --shutdown-timeout 3: teardown budget, less than half
        (4.0, 10.0, 5.0, 2.0),  # teardown capped at half the time left
        (3.0, 10.0, 5.0, 1.5),
        (3.0, 1.0, 5.0, 1.0),  # a margin asked smaller than all that is kept as asked
        (0.0, 10.0, 5.0, 0.0),  # nothing left
        (-5.0, 10.0, 5.0, 0.0),  # already past
        (8.0, 10.0, 0.0, 2.0),  # no teardown budget: the quarter
    ],
)
def test_the_margin_shrinks_for_short_deadlines(
    left: float, margin: float, shutdown: float, expected_margin: float
) -> None:
    schedule = Schedule(left, Budget(deadline_margin=margin, shutdown_timeout=shutdown))
    assert schedule.margin == pytest.approx(expected_margin)
    assert schedule.cancel_at == pytest.approx(max(left - expected_margin, 0.0))


def test_without_a_deadline_nothing_is_cancelled_by_time() -> None:
    schedule = Schedule(None, DEFAULT)
    assert schedule.margin == 0.0
    assert schedule.cancel_at is None
    assert not schedule.is_short(min_seconds=3600)
    assert schedule.cancel_grace(cancelled_at=123.0) == 2.0
    assert schedule.teardown_budget(now=10_000.0) == 5.0


def test_an_overdue_deadline_cancels_at_once() -> None:
    assert Schedule(-1.0, DEFAULT).cancel_at == 0.0
    assert Schedule(0.0, DEFAULT).cancel_at == 0.0


@pytest.mark.parametrize(
    ("left", "min_seconds", "short"),
    [
        (9.999, 0.0, True),  # less than the margin
        (10.0, 0.0, False),  # exactly the margin: enough
        (59.999, 60.0, True),  # less than the job says it needs
        (60.0, 60.0, False),
        (30.0, 5.0, False),
    ],
)
def test_deadline_short_when_less_than_the_job_or_the_margin_needs(
    left: float, min_seconds: float, short: bool
) -> None:
    assert Schedule(left, DEFAULT).is_short(min_seconds) is short


# -- the cancel grace ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "cancelled_at", "expected"),
    [
        (100.0, 90.0, 2.0),  # 10 s remain: grace 2 leaves the teardown budget (5) before the deadline
        (100.0, 93.0, 2.0),  # 7 s remain: exactly grace + teardown
        (100.0, 94.0, 1.5),  # 6 s remain: remaining - teardown = 1
        (100.0, 96.0, 1.0),  # 4 s remain: never less than a quarter of what remains
        (4.0, 2.0, 0.5),  # --timeout 4, cancelled at 2: a quarter of the 2 s left
        (4.0, 4.0, 0.0),  # at the deadline: no grace left
        (4.0, 5.0, 0.0),  # past it
    ],
)
def test_the_cancel_grace_leaves_teardown_its_time_before_the_deadline(
    left: float, cancelled_at: float, expected: float
) -> None:
    assert Schedule(left, DEFAULT).cancel_grace(cancelled_at) == pytest.approx(expected)


def test_the_cancel_grace_is_the_budgets_when_there_is_room() -> None:
    assert Schedule(3600.0, Budget(cancel_grace=7.5)).cancel_grace(0.0) == 7.5


# -- the teardown budget ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "now", "expected"),
    [
        (100.0, 10.0, 5.0),  # far from the deadline: --shutdown-timeout
        (100.0, 94.25, 5.0),  # exactly teardown + takeover slack + exit allowance before it
        (100.0, 97.0, 2.25),  # closer: what is left before the deadline, less takeover and exit
        (100.0, 98.5, 0.75),
        (100.0, 98.75, 0.5),  # the floor, reached exactly
        (100.0, 99.0, 0.5),  # closer still: the floor
        (100.0, 99.8, 0.5),  # almost there: the floor
        (100.0, 120.0, 0.5),  # past it (the platform's grace period bounds it now)
    ],
)
def test_teardown_ends_before_the_deadline_when_it_can(left: float, now: float, expected: float) -> None:
    assert Schedule(left, DEFAULT).teardown_budget(now) == pytest.approx(expected)


def test_the_teardown_floor_never_exceeds_the_budget_asked_for() -> None:
    assert Schedule(1.0, Budget(shutdown_timeout=0.2)).teardown_budget(5.0) == pytest.approx(0.2)
    assert Schedule(1.0, Budget(shutdown_timeout=0.0)).teardown_budget(5.0) == 0.0


@pytest.mark.parametrize(
    ("left", "now", "budget", "expected"),
    [
        (None, 0.0, 5.0, 5.5),  # no deadline: the slack after the budget, whenever teardown starts
        (None, 1e6, 0.2, 0.7),
        (100.0, 10.0, 5.0, 5.5),  # far from the deadline: the same
        (100.0, 94.25, 5.0, 5.5),  # the slack ends exactly the exit allowance before the deadline
        (100.0, 97.0, 2.25, 2.75),  # a budget cut by the deadline: takeover at deadline - allowance
        (100.0, 99.0, 0.5, 0.75),  # a floored budget: the slack shrinks to end at deadline - allowance
        (100.0, 99.2, 0.5, 0.55),
        (100.0, 99.5, 0.5, 0.5),  # no room for any slack: at the budget's end, never before it
        (100.0, 120.0, 0.5, 0.5),  # past the deadline: at the budget's end
        (100.0, 90.0, 1.0, 1.5),  # a budget shorter than the schedule's (asked for by the caller)
    ],
)
def test_the_takeover_of_a_stuck_close_leaves_the_exit_its_allowance(
    left: float | None, now: float, budget: float, expected: float
) -> None:
    assert Schedule(left, DEFAULT).takeover_after(now, budget) == pytest.approx(expected)


@pytest.mark.parametrize("margin", [0.0, 1.0, 10.0])
@pytest.mark.parametrize("shutdown", [0.0, 0.3, 1.0, 5.0, 30.0])
@pytest.mark.parametrize("left", [1.0, 1.25, 2.0, 4.0, 8.0, 60.0, 3600.0])
def test_a_stuck_close_is_taken_over_before_the_deadline_whenever_the_floor_allows(
    left: float, shutdown: float, margin: float
) -> None:
    """The promise in docs/lifecycle.md, for every teardown start from the cancel to the deadline:
    the takeover comes after the budget and, unless the floor (MIN_TEARDOWN_S) outlasts the time
    left, at least EXIT_ALLOWANCE_S before the deadline."""
    schedule = Schedule(left, Budget(deadline_margin=margin, shutdown_timeout=shutdown))
    assert schedule.cancel_at is not None
    for step in range(101):
        now = schedule.cancel_at + (left - schedule.cancel_at) * step / 100
        budget = schedule.teardown_budget(now)
        takeover = schedule.takeover_after(now, budget)
        assert budget <= takeover <= budget + TAKEOVER_SLACK_S
        if now + min(shutdown, MIN_TEARDOWN_S) <= left - EXIT_ALLOWANCE_S:
            assert now + takeover <= left - EXIT_ALLOWANCE_S + 1e-9


# -- where a deadline comes from -------------------------------------------------------------------

NOW = datetime(2026, 8, 21, 12, 0, tzinfo=UTC)


def test_the_earliest_deadline_wins_and_says_where_it_came_from() -> None:
    argo = NOW + timedelta(seconds=30)
    flag = NOW + timedelta(seconds=60)
    assert effective_deadline(now=NOW, timeout=10, deadline=flag, argo_deadline=argo) == Deadline(
        NOW + timedelta(seconds=10), "--timeout"
    )
    assert effective_deadline(now=NOW, timeout=100, deadline=flag, argo_deadline=argo) == Deadline(
        argo, "ARGO_DEADLINE"
    )
    assert effective_deadline(now=NOW, deadline=flag) == Deadline(flag, "--deadline")
    assert effective_deadline(now=NOW) is None


def test_seconds_left() -> None:
    assert Deadline(NOW + timedelta(seconds=90), "x").seconds_left(NOW) == 90.0
    assert Deadline(NOW - timedelta(seconds=1), "x").seconds_left(NOW) == -1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-21T14:00:00Z", datetime(2026, 8, 21, 14, tzinfo=UTC)),
        ("2026-08-21T14:00:00z", datetime(2026, 8, 21, 14, tzinfo=UTC)),
        (" 2026-08-21T16:00:00+02:00 ", datetime(2026, 8, 21, 14, tzinfo=UTC)),
        ("2026-08-21T14:00:00.250Z", datetime(2026, 8, 21, 14, 0, 0, 250000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("0001-01-01T00:00:00+00:00", None),
        ("0001-01-01T05:00:00+01:00", None),  # year 1 in any zone is Argo's "no deadline"
    ],
)
def test_rfc3339(text: str, expected: datetime | None) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["tomorrow", "", "2026-13-01T00:00:00Z", "9999-12-31T23:59:59-14:00"])
def test_rfc3339_refuses_what_is_not_a_timestamp(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(text)


def test_rfc3339_refuses_a_timestamp_without_a_zone_and_says_so() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        parse_rfc3339("2026-08-21T14:00:00")


def test_only_year_one_is_the_zero_time() -> None:
    assert parse_rfc3339("0002-01-01T00:00:00Z") == datetime(2, 1, 1, tzinfo=UTC)


def test_seconds_left_from_now_by_default() -> None:
    assert 89.0 < Deadline(datetime.now(UTC) + timedelta(seconds=90), "x").seconds_left() <= 90.0


def test_a_timestamp_in_another_zone_keeps_its_instant() -> None:
    east = timezone(timedelta(hours=5, minutes=30))
    assert parse_rfc3339("2026-08-21T19:30:00+05:30") == datetime(2026, 8, 21, 19, 30, tzinfo=east)
