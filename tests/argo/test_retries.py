"""Which exit codes a retryStrategy retries, when a retry starts with too little time, and how
shard results combine: the pure decisions behind ``lint`` and the fan-out, pinned exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobframe._app.deployment import RETRYABLE, backoff_wait
from jobframe.argo.combine import CombineError, merge, parse_results
from jobframe.argo.retries import KNOWN_CODES, expression_for, retried_codes
from jobframe.argo.timing import Shortfall, argo_int, parse_duration, retry_shortfalls

FAILURES = frozenset(c for c in KNOWN_CODES if c != 0)


def test_the_codes_asked_about() -> None:
    assert KNOWN_CODES == (0, 1, 2, 75, 78, 124, 130, 143, 137, -1)


def test_the_rendered_expression_retries_exactly_its_codes() -> None:
    assert expression_for([143, 75, 75]) == 'lastRetry.exitCode in ["75", "143"]'
    for codes in (RETRYABLE, (75,), (137, 143)):
        assert retried_codes({"retryPolicy": "Always", "expression": expression_for(codes)}).codes == set(
            codes
        )


@pytest.mark.parametrize(
    ("strategy", "codes", "policy"),
    [
        # no policy, no expression: every failure of the process, and a pod the kubelet evicted
        # before main ended (-1, phase Failed: inferFailedReason takes the pod's message first)
        ({}, FAILURES, "OnFailure"),
        ({"retryPolicy": "OnFailure"}, FAILURES, "OnFailure"),
        ({"retryPolicy": "Always"}, FAILURES, "Always"),  # a lost pod too
        ({"retryPolicy": "OnError"}, {-1}, "OnError"),  # only a lost pod
        ({"retryPolicy": "OnTransientError"}, set(), "OnTransientError"),
        ({"expression": 'lastRetry.exitCode == "75"'}, {75}, "Always"),  # an expression implies Always
        ({"retryPolicy": "OnError", "expression": 'lastRetry.exitCode == "75"'}, set(), "OnError"),
        ({"retryPolicy": "OnError", "expression": 'lastRetry.exitCode == "-1"'}, {-1}, "OnError"),
        (
            {"retryPolicy": "OnFailure", "expression": 'lastRetry.exitCode != "1"'},
            FAILURES - {1},
            "OnFailure",
        ),
        ({"expression": "asInt(lastRetry.exitCode) > 100"}, {124, 130, 137, 143}, "Always"),
        ({"expression": "asInt(lastRetry.exitCode) < 2"}, {-1, 1}, "Always"),
        ({"expression": "lastRetry.exitCode == 75"}, set(), "Always"),  # a number never equals the string
        ({"expression": "lastRetry.status == 'Error'"}, {-1}, "Always"),  # Argo's phase of a lost pod
        ({"expression": "lastRetry.message matches 'imminent node shutdown|pod deleted'"}, {-1}, "Always"),
        ({"expression": "lastRetry.message == 'pod deleted'"}, {-1}, "Always"),  # the controller's words
        ({"expression": "sprig.contains('7', lastRetry.exitCode)"}, {75, 78, 137}, "Always"),
        ({"expression": "sprig.hasPrefix('1', lastRetry.exitCode)"}, {1, 124, 130, 137, 143}, "Always"),
        ({"expression": "sprig.has(lastRetry.exitCode, sprig.list('75', '-1'))"}, {75, -1}, "Always"),
        ({"expression": "asInt(lastRetry.duration) > 30 && lastRetry.exitCode == '143'"}, {143}, "Always"),
        ({"expression": "asInt(retries) < 1 && lastRetry.exitCode == '75'"}, {75}, "Always"),
    ],
)
def test_retried_codes(strategy: dict[str, Any], codes: set[int], policy: str) -> None:
    found = retried_codes(strategy)
    assert (found.codes, found.policy, found.problem) == (codes, policy, None)


@pytest.mark.parametrize(
    ("strategy", "retried", "lost_pods_always"),
    [
        ({"retryPolicy": "Always", "expression": 'lastRetry.exitCode in ["-1", "75"]'}, {-1, 75}, True),
        ({"retryPolicy": "Always"}, FAILURES, True),
        ({"retryPolicy": "OnError"}, {-1}, False),  # not an evicted pod's (phase Failed)
        ({"retryPolicy": "OnFailure"}, FAILURES, False),  # not a deleted pod's (phase Error)
        ({"expression": "lastRetry.status == 'Error'"}, {-1}, False),  # deleted, not evicted
        ({"expression": "lastRetry.message matches 'imminent node shutdown|pod deleted'"}, {-1}, False),
        ({"expression": 'lastRetry.exitCode == "75"'}, {75}, False),
    ],
)
def test_a_lost_pod_is_retried_always_only_when_both_ways_of_losing_it_are(
    strategy: dict[str, Any], retried: set[int], lost_pods_always: bool
) -> None:
    """A pod lost before or while main ran has no exit code ("-1") but two phases: Error when it
    was deleted (node drain, spot loss), Failed when the kubelet evicted it (Argo v4.1.2's
    ``markNodeError(..., "pod deleted")`` and ``inferFailedReason``)."""
    found = retried_codes(strategy)
    assert found.codes == retried
    assert (-1 in found.always) is lost_pods_always
    assert found.always == (retried if lost_pods_always else retried - {-1})


@pytest.mark.parametrize(
    ("strategy", "problem"),
    [
        ({"retryPolicy": "Sometimes"}, "unknown retryPolicy"),
        ({"expression": "sprig.has(lastRetry.exitCode)"}, "cannot evaluate"),  # Sprig's has takes two
        ({"expression": "asInt(lastRetry.message) > 1"}, "cannot evaluate"),
        ({"expression": "lastRetry.exitCode"}, "not true/false"),
        ({"expression": 75}, "must be a string"),
    ],
)
def test_what_cannot_be_told_is_said(strategy: dict[str, Any], problem: str) -> None:
    found = retried_codes(strategy)
    assert found.codes == set() and found.problem is not None and problem in found.problem
    assert found.unknown is False  # a fault: Argo could not evaluate it either
    assert found.policy == strategy.get("retryPolicy", "Always")


@pytest.mark.parametrize(
    ("expression", "name"),
    [
        ("jsonpath(lastRetry.message, '$.x') == 'y'", "'jsonpath'"),
        ("sprig.semverCompare('>1', lastRetry.exitCode)", "'sprig.semverCompare'"),
        ("workflow.name == 'x'", "'workflow'"),
        ("lastRetry.exitCode == '75' || toJson(lastRetry) == ''", "'toJson'"),
    ],
)
def test_a_name_lint_does_not_know_is_cannot_tell_not_a_fault(expression: str, name: str) -> None:
    found = retried_codes({"expression": expression})
    assert (found.codes, found.unknown) == (set(), True)
    kind = "variable" if name == "'workflow'" else "function"
    assert found.problem == f"unknown {kind} {name} (not known to lint)"


def test_the_rendered_expression_of_a_resumable_job_retries_a_lost_pod() -> None:
    assert expression_for([75, -1]) == 'lastRetry.exitCode in ["-1", "75"]'
    assert retried_codes({"retryPolicy": "Always", "expression": expression_for([75, -1])}).codes == {75, -1}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30), (45, 45), (2.5, 2.5), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400),
     ("250ms", 0.25), ("2h0m3s", 7203), ("+10", 10), ("0", 0), ("3μs", 3e-6), (".5s", 0.5)],
)  # fmt: skip
def test_durations(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


# Argo's ParseStringToDuration: strconv.Atoi, else time.ParseDuration; a number with a point but
# no unit, or with spaces around it, is neither, and fails the step at its first retry
@pytest.mark.parametrize(
    "text",
    ["", "abc", "5 minutes", "1d", "-5", "-1s", "1h-1m", True, "inf", " 10 ", "10 ", "1.5", "30.0",
     "1e3", "5s "],
)  # fmt: skip
def test_what_is_not_a_duration(text: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(("value", "number"), [(2, 2), ("2", 2), ("+3", 3), ("-1", -1), ("10", 10)])
def test_whole_numbers_as_argo_reads_an_int_or_string(value: Any, number: int) -> None:
    assert argo_int(value) == number


@pytest.mark.parametrize("value", ["1.5", " 2", "2 ", "", "two", 1.5, True, None, "0x10", "1e3"])
def test_what_argo_cannot_read_as_a_whole_number(value: Any) -> None:
    with pytest.raises(ValueError, match="is not a whole number"):
        argo_int(value)


def test_backoff_waits() -> None:
    assert [backoff_wait(n, 30, 2, 100) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
    assert [backoff_wait(n, 10, 1, None) for n in (1, 5)] == [10, 10]


def _waits(duration: float, factor: float = 1, cap: float | None = None) -> Any:
    return lambda n: backoff_wait(n, duration, factor, cap)


def test_a_window_that_holds_every_attempt_has_no_shortfall() -> None:
    # 3 retries of 600 s with 10 s waits: the last can start at 3*600 + 30 = 1830; +115 needed.
    assert retry_shortfalls(timeout=600, limit=3, wait=_waits(10), window=1945, needs=115) == []


def test_the_first_retry_that_may_start_short_is_reported_exactly() -> None:
    found = retry_shortfalls(timeout=600, limit=3, wait=_waits(10), window=1944, needs=115)
    assert found == [Shortfall(retry=3, earliest=30, latest=1830, left=114, needs=115)]


def test_the_deadline_trap_of_the_story() -> None:
    # an hour per attempt, maxDuration of an hour: every retry can start with nothing left
    found = retry_shortfalls(timeout=3600, limit=2, wait=_waits(30, 2), window=3600, needs=15)
    assert [(s.retry, s.earliest, s.latest, s.left) for s in found] == [(1, 30, 3630, 0), (2, 90, 7290, 0)]


def test_a_retry_argo_never_starts_is_not_reported() -> None:
    # waits alone use the window up: Argo gives up before retry 2 begins
    found = retry_shortfalls(timeout=100, limit=5, wait=_waits(50), window=100, needs=15)
    assert [s.retry for s in found] == [1]
    assert retry_shortfalls(timeout=100, limit=5, wait=_waits(50), window=50, needs=15) == []


def test_no_retries_no_shortfall() -> None:
    assert retry_shortfalls(timeout=10, limit=0, wait=_waits(0), window=5, needs=15) == []


@pytest.mark.parametrize(
    ("values", "merged"),
    [
        ([1, 2, 3], 6),
        ([1.5, 2], 3.5),
        ([[1], [], [2, 3]], [1, 2, 3]),
        ([{"a": 1, "l": [1]}, {"a": 2, "b": "x", "l": [2]}], {"a": 3, "l": [1, 2], "b": "x"}),
        ([{"n": {"m": 1}}, {"n": {"m": 2}}], {"n": {"m": 3}}),
        (["same", "same"], "same"),
        ([True, True], True),
        ([True, False], [True, False]),  # booleans are not added
        (["a", "b"], ["a", "b"]),
        ([None, None], None),
        ([1, "1"], [1, "1"]),
        ([], None),
    ],
)
def test_merge(values: list[Any], merged: Any) -> None:
    assert merge(values) == merged


def test_results_as_argo_aggregates_them() -> None:
    text = json.dumps([json.dumps({"n": 1}), json.dumps({"n": 2})])
    assert parse_results(text, 2) == [{"n": 1}, {"n": 2}]
    assert parse_results(json.dumps([{"n": 1}]), 1) == [{"n": 1}]  # already decoded values pass too


@pytest.mark.parametrize(
    ("text", "shards", "message"),
    [
        ("not json", 2, "not JSON"),
        (json.dumps({"n": 1}), 1, "JSON array"),
        (json.dumps(["{}"]), 2, "results of 2 shards, got 1"),
        (json.dumps(["{}", "null"]), 2, "shard 1 gave no result"),
        (json.dumps(["oops", "{}", "null"]), 3, "shards 0, 2 gave no result"),
    ],
)
def test_incomplete_results_are_refused_naming_the_shard(text: str, shards: int, message: str) -> None:
    with pytest.raises(CombineError, match=message):
        parse_results(text, shards)


@pytest.mark.parametrize(
    ("expression", "codes"),
    [
        ('lastRetry.status == "Failed" && lastRetry.exitCode == "75"', {75}),  # a process's failure
        ("asInt(lastRetry.duration) >= 0", FAILURES),
        ('lastRetry.message == ""', FAILURES - {-1}),  # a lost pod has the controller's message
    ],
)
def test_the_other_last_retry_variables(expression: str, codes: frozenset[int]) -> None:
    assert retried_codes({"expression": expression}).codes == codes


def test_a_problem_keeps_the_policy_it_was_found_under() -> None:
    assert retried_codes({"retryPolicy": "Sometimes"}).policy == "Sometimes"
    assert retried_codes({"expression": 75}).policy == "Always"
    assert retried_codes({"expression": "nope"}).policy == "Always"
    assert retried_codes({"retryPolicy": "OnFailure", "expression": "lastRetry"}).policy == "OnFailure"


def test_combine_and_duration_errors_say_what_they_got() -> None:
    with pytest.raises(CombineError, match="got dict"):
        parse_results("{}", 1)
    with pytest.raises(ValueError, match=r"^an empty string is not a duration$"):
        parse_duration("")
