"""What a push carries, and the options that ask for it (in-process; the real gateway is in
test_pushgateway.py)."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from jobframe._cli.args import parse_args
from jobframe.errors import UsageError
from jobframe.observe import Observer
from jobframe.observe.pushgateway import COUNTERS, grouping_key, registry_for
from tests.conftest import run_cli


def _families(observer: Observer, code: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = generate_latest(registry_for(observer, code, 12.5, now=1_700_000_000.0)).decode()
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_a_success_carries_the_last_success_and_a_failure_does_not() -> None:
    ok, failed = _families(Observer(), 0), _families(Observer(), 75)
    assert ok["jobframe_job_last_success_timestamp_seconds"] == [({}, 1_700_000_000.0)]
    assert not any("last_success" in name for name in failed)
    for families, code in ((ok, 0), (failed, 75)):
        assert families["jobframe_job_exit_code"] == [({}, code)]
        assert families["jobframe_job_duration_seconds"] == [({}, 12.5)]
        assert families["jobframe_job_last_run_timestamp_seconds"] == [({}, 1_700_000_000.0)]


def test_counters_have_one_endpoint_label_and_no_created_series() -> None:
    observer = Observer()
    observer.request("/messages/send", attempt=1).answered(429)
    observer.request("/messages/send", attempt=2).answered(201)
    observer.settled("/messages/send", 50, delivered=True, ambiguous=False)
    observer.request("/users/track", attempt=1).answered(201)
    text = generate_latest(registry_for(observer, 0, 1.0, now=1.0)).decode()
    assert "_created" not in text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, _ in COUNTERS.values():
        family = families[name]
        assert family.type == "counter"
        assert {tuple(s.labels) for s in family.samples} == {("endpoint",)}
    sent = {s.labels["endpoint"]: s.value for s in families["jobframe_braze_objects_sent"].samples}
    assert sent == {"/messages/send": 50, "/users/track": 0}
    limited = {s.labels["endpoint"]: s.value for s in families["jobframe_braze_rate_limited"].samples}
    assert limited == {"/messages/send": 1, "/users/track": 0}


def test_a_run_without_braze_calls_pushes_no_counter_family() -> None:
    assert not any(
        name.startswith(("jobframe_braze", "jobframe_ledger")) for name in _families(Observer(), 0)
    )


def test_the_grouping_key_is_the_job_and_its_shard() -> None:
    assert grouping_key("SendPush", None) == {"job": "SendPush"}
    assert grouping_key("SendPush", "1/4") == {"job": "SendPush", "shard": "1/4"}


@pytest.mark.parametrize("url", ["localhost:9091", "ftp://gw", "http://", "http://gw:port", ""])
def test_a_pushgateway_that_is_not_an_http_url_is_a_usage_error(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UsageError, match="--pushgateway" if url else "empty|pushgateway"):
        parse_args(["--job-name", "SomeJob", "--pushgateway", url])
    if url:
        monkeypatch.setenv("JOBFRAME_PUSHGATEWAY", url)
        with pytest.raises(UsageError, match="JOBFRAME_PUSHGATEWAY"):
            parse_args(["--job-name", "SomeJob"])


def test_a_pushgateway_url_keeps_its_path_and_loses_a_trailing_slash() -> None:
    assert (
        parse_args(["--pushgateway", "https://gw.example:9091/prefix/"]).pushgateway
        == "https://gw.example:9091/prefix"
    )


def test_a_malformed_traceparent_is_no_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judged by the tracing (ignored as W3C says, tests/observe/test_tracing.py), never by the parser."""
    assert parse_args(["--traceparent", " garbage "]).traceparent == "garbage"
    monkeypatch.setenv("TRACEPARENT", "00-0AF7")
    assert parse_args([]).traceparent == "00-0AF7"


def test_a_valid_traceparent_is_taken_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert parse_args(["--traceparent", value]).traceparent == value
    monkeypatch.setenv("TRACEPARENT", value)
    assert parse_args([]).traceparent == value


@pytest.mark.process
def test_a_bad_gateway_url_stops_the_run_before_anything_is_built() -> None:
    ran = run_cli(["--job-name", "SomeJob", "--pushgateway", "gw:9091"])
    assert ran.code == 2
    assert ran.stderr.startswith("jobframe: error: argument --pushgateway") and ran.stdout == ""


def test_a_gateway_password_never_reaches_the_log() -> None:
    from jobframe.observe.report import public_url  # noqa: PLC0415

    assert public_url("https://ops:s3cret-pw@gw.example:9091/x") == "https://ops:***@gw.example:9091/x"
    assert public_url("http://gw:9091") == "http://gw:9091"
    assert public_url("http://ops@gw:9091") == "http://ops@gw:9091"  # a user alone is no secret
    # an unescaped @ in the password: the host is after the last one, as urllib reads it
    assert public_url("http://ops:p@ss:w@gw:9091/x@y") == "http://ops:***@gw:9091/x@y"
    assert public_url("http://[::1]:9091") == "http://[::1]:9091"
    assert public_url("https://ops:pw@[::1]:9091") == "https://ops:***@[::1]:9091"


class _BrokenTracer:
    def phase(self, name: str) -> None: ...

    def request(self, endpoint: str, method: str, size: int, attempt: int) -> Any: ...

    def finish(self, outcome: Any) -> None:
        raise RuntimeError("exporter exploded")

    def flush(self, timeout: float) -> bool:
        raise AssertionError("not reached")


def test_a_tracer_that_raises_never_stops_the_exit() -> None:
    from jobframe.logs import Redact  # noqa: PLC0415
    from jobframe.observe.report import Reporting, report_run  # noqa: PLC0415
    from jobframe.testing._capture import capture_events  # noqa: PLC0415

    with capture_events(Redact()) as events:
        report_run(Reporting(job="J", observer=Observer(_BrokenTracer())), 0)
    (failed,) = [e for e in events if e["event"] == "trace.export_failed"]
    assert failed["error"] == "RuntimeError: exporter exploded"


@pytest.mark.parametrize("grace", [0.0, 0.4, 0.499999])
def test_the_report_waits_no_longer_than_the_exit_grace_left(grace: float) -> None:
    """After teardown, the report and the exit guard share ``--exit-grace``: a hanging gateway is
    given what is left of it, not its own 2 s on top (``Budget.stop_grace``)."""
    import time  # noqa: PLC0415

    from jobframe.logs import Redact  # noqa: PLC0415
    from jobframe.observe.report import REPORT_TIMEOUT_S, Reporting, report_run  # noqa: PLC0415
    from jobframe.testing import capture_events  # noqa: PLC0415
    from tests.observe.gateway import HangingServer  # noqa: PLC0415

    assert grace < REPORT_TIMEOUT_S
    with HangingServer() as hanging, capture_events(Redact()) as events:
        started = time.monotonic()
        report_run(Reporting(job="J", observer=Observer(), pushgateway=hanging.url), 0, grace)
        took = time.monotonic() - started
    (failed,) = [e for e in events if e["event"] == "metrics.push_failed"]
    # abandoned at the bound, or timed out by the push's own timeout (the same bound) just before
    said = f"no answer within {round(grace, 2):g} s"  # what was left of the grace, as a person reads it
    assert failed["error"] in (said, "TimeoutError: timed out"), failed
    assert failed["waited_s"] <= grace + 1.0 and took <= grace + 1.0, (failed, took)  # < its own 2 s


@pytest.mark.parametrize(
    "url",
    [
        "ftp://ops:pw-canary-1@gw.example",  # not http(s)
        "http://ops:pw-canary-1@gw.example:port",  # a port that is no number
        "http://ops:pw-canary-1@",  # no host
        "http://ops:pw-canary-1@[::1",  # an IPv6 literal not closed
    ],
)
def test_a_gateway_url_that_is_almost_right_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(UsageError, match="--pushgateway") as refused:
        parse_args(["--pushgateway", url])
    assert "pw-canary-1" not in str(refused.value)
    assert "ops:***@" in str(refused.value)


def test_the_reporting_of_a_run_never_shows_the_gateway_password() -> None:
    from jobframe.observe.report import start_reporting  # noqa: PLC0415

    reporting = start_reporting(
        "SomeJob", pushgateway="http://ops:pw-canary-2@gw:9091", traceparent=None, shard=None
    )
    assert "pw-canary-2" not in repr(reporting) and "pw-canary-2" not in str(reporting)
    assert reporting.pushgateway == "http://ops:pw-canary-2@gw:9091"  # the push itself still has it


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://gw:9091/metrics", "without /metrics"),  # the scrape URL, copied
        ("http://gw:9091/metrics/", "without /metrics"),
        ("http://gw:9091/prefix/metrics/job/SomeJob", "without /metrics"),  # a group's URL
        ("http://gw:9091?x=1", "no query"),
        ("http://gw:9091/#top", "no query"),
    ],
)
def test_a_gateway_url_that_names_more_than_the_gateway_is_a_usage_error(url: str, says: str) -> None:
    """jobframe adds ``/metrics/job/<job>``: a URL that has it already would push where nothing listens."""
    with pytest.raises(UsageError, match="--pushgateway") as refused:
        parse_args(["--pushgateway", url])
    assert says in str(refused.value)


@pytest.mark.parametrize(
    "url",
    ["http://gw:9091", "https://gw.example/pushgateway", "http://[::1]:9091", "http://u:p@gw/metricsproxy"],
)
def test_a_gateway_base_url_with_or_without_a_prefix_is_taken(url: str) -> None:
    assert parse_args(["--pushgateway", url]).pushgateway == url
