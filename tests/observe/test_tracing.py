"""OTEL_*: a run is one trace, received by a real OTLP/HTTP server (docs/observability.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jobframe.observe.report import REPORT_TIMEOUT_S
from jobframe.observe.tracing import traces_endpoint, tracing_requested, valid_traceparent
from tests.conftest import CANARY, REPO, clean_env, run_cli
from tests.lifecycle.jobproc import APPS as LIFECYCLE_APPS
from tests.observe.gateway import HangingServer, closed_port_url
from tests.observe.missing import without
from tests.observe.otlp import OtlpReceiver, attributes
from tests.observe.pushjob import malformed_ids, push_args, write_ids

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def _send(tmp_path: Path, count: int, env: dict[str, str], *extra: str) -> Any:
    return run_cli([*push_args(write_ids(tmp_path, count)), "--log-format", "json", *extra], env=env)


def _all_values(spans: list[Any]) -> list[str]:
    return [str(v) for span in spans for v in attributes(span).values()] + [span.name for span in spans]


@pytest.mark.process
@pytest.mark.parametrize("how", ["env", "option"])
def test_a_run_is_one_trace_continued_from_the_callers_traceparent(tmp_path: Path, how: str) -> None:
    with OtlpReceiver() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_SERVICE_NAME": "pushes"}
        extra: tuple[str, ...] = ()
        if how == "env":
            env["TRACEPARENT"] = TRACEPARENT
        else:
            extra = ("--traceparent", TRACEPARENT)
        ran = _send(tmp_path, 120, env, *extra)
    assert ran.code == 0, ran.stdout
    assert not ran.named("trace.export_failed")
    assert collector.paths and set(collector.paths) == {"/v1/traces"}
    spans = collector.spans
    assert {span.trace_id.hex() for span in spans} == {TRACE_ID}
    by_name: dict[str, list[Any]] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    (run,) = by_name["run SendPushFromFile"]
    assert run.parent_span_id.hex() == PARENT_ID
    assert attributes(run)["jobframe.exit_code"] == 0
    phases = {name: by_name[name][0] for name in ("build", "execute", "close")}
    for phase in phases.values():
        assert phase.parent_span_id == run.span_id
    assert phases["build"].end_time_unix_nano <= phases["execute"].start_time_unix_nano
    assert phases["execute"].end_time_unix_nano <= phases["close"].start_time_unix_nano
    requests = by_name["POST /messages/send"]
    assert len(requests) == 3  # one per batch
    assert sorted(attributes(r)["braze.batch_size"] for r in requests) == [20, 50, 50]
    for request in requests:
        found = attributes(request)
        assert request.parent_span_id == phases["execute"].span_id
        assert found["http.response.status_code"] == 201
        assert found["braze.endpoint"] == "/messages/send" and found["braze.attempt"] == 1
    assert collector.resources[0]["service.name"] == "pushes"
    values = _all_values(spans)
    assert not any(CANARY in v or "Bearer" in v or "user-1" in v for v in values)  # no key, no user data


@pytest.mark.process
def test_a_failed_run_is_a_trace_with_an_error_status(tmp_path: Path) -> None:
    with OtlpReceiver() as collector:
        ran = run_cli(
            push_args(malformed_ids(tmp_path)),
            env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{collector.url}/v1/traces"},
        )
    assert ran.code == 2
    (run,) = [s for s in collector.spans if s.name.startswith("run ")]
    assert attributes(run)["jobframe.exit_code"] == 2
    assert run.status.code == 2  # STATUS_CODE_ERROR


@pytest.mark.process
def test_a_collector_that_hangs_never_holds_the_exit_past_the_bound(tmp_path: Path) -> None:
    with HangingServer() as hanging:
        ran = _send(tmp_path, 5, {"OTEL_EXPORTER_OTLP_ENDPOINT": hanging.url})
        assert hanging.accepted.is_set()
    assert ran.code == 0
    failed = ran.one("trace.export_failed")
    assert failed["waited_s"] <= REPORT_TIMEOUT_S + 0.5
    assert ran.one("process.exit")["exit_latency_s"] < REPORT_TIMEOUT_S + 3.0
    assert ran.events[-1]["event"] == "process.exit"


@pytest.mark.process
def test_without_otel_or_a_gateway_neither_library_is_imported() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "jobframe", "--job-name", "SomeJob"],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "jobframe.braze" in imported  # the check sees the run's imports at all
    assert not {
        m for m in imported if m.startswith(("opentelemetry", "prometheus_client", "google.protobuf"))
    }


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, False),  # case-insensitive
        ({"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, True),  # a comma-separated list (the spec)
        ({"OTEL_TRACES_EXPORTER": " none , none "}, False),
        ({"OTEL_TRACES_EXPORTER": "none,otlp"}, True),
    ],
)
def test_which_variables_turn_tracing_on(environ: dict[str, str], wanted: bool) -> None:
    assert tracing_requested(environ) is wanted


@pytest.mark.process
def test_the_trace_is_flushed_within_the_exit_grace(tmp_path: Path) -> None:
    """A hanging collector holds the exit no longer than --exit-grace, which the flush shares with
    the push and the exit guard (``Budget.stop_grace``)."""
    with HangingServer() as hanging:
        ran = _send(tmp_path, 5, {"OTEL_EXPORTER_OTLP_ENDPOINT": hanging.url}, "--exit-grace", "0.4")
    assert ran.code == 0
    failed = ran.one("trace.export_failed")
    assert failed["waited_s"] <= 0.4 + 1.0  # the grace, and a loaded machine's scheduling; never 30 s
    assert "within 0." in failed["error"]


@pytest.mark.process
def test_a_close_that_spends_the_whole_teardown_budget_still_exports_the_run_span() -> None:
    """A hung close is the run most worth seeing: its run and close spans are flushed within the
    report's bound (the exit grace it shares with the push), not lost for want of teardown's."""
    with OtlpReceiver() as collector:
        ran = run_cli(
            ["--app", "lifeapp:Container", "--job-name", "HangingClose", "--shutdown-timeout", "0.5"],
            cwd=LIFECYCLE_APPS,
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "PYTHONPATH": f"{LIFECYCLE_APPS}:{REPO}"},
        )
    assert ran.code == 0, ran.stderr
    assert ran.named("teardown.timeout") or ran.named("resource.close_timeout"), ran.stdout
    assert not ran.named("trace.export_failed"), ran.stdout
    names = [span.name for span in collector.spans]
    (run,) = [s for s in collector.spans if s.name == "run HangingClose"]
    assert attributes(run)["jobframe.exit_code"] == 0 and run.end_time_unix_nano > 0
    assert {"build", "execute", "close"} <= set(names)


_IDS = f"{TRACE_ID}-{PARENT_ID}"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (TRACEPARENT, True),
        (f"00-{_IDS}-00", True),  # not sampled: still a parent
        (f"  {TRACEPARENT}\t", True),  # surrounding white space is not part of the value
        (f"01-{_IDS}-01-what-comes-next", True),  # a later version: its first four fields are read
        (f"cc-{_IDS}-09", True),
        (f"00-{_IDS}-01-extra", False),  # version 00 has exactly four fields
        (f"01-{_IDS}-01extra", False),  # after the flags: the end or a dash
        (f"ff-{_IDS}-01", False),  # the forbidden version
        (f"00-{_IDS}", False),  # no flags
        (f"00-{_IDS}-1", False),
        (f"00-{_IDS}-0g", False),
        ("00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", False),  # upper case
        ("0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", False),
        (f"00-{'0' * 32}-{PARENT_ID}-01", False),  # zero trace id
        (f"00-{TRACE_ID}-{'0' * 16}-01", False),  # zero parent id
        (f"00-{TRACE_ID[:-1]}-{PARENT_ID}-01", False),
        (f"00-{TRACE_ID}-{PARENT_ID}0-01", False),
        (f"00_{_IDS}-01", False),
        ("", False),
        ("garbage", False),
    ],
)
def test_a_traceparent_is_valid_as_w3c_trace_context_says(value: str, valid: bool) -> None:
    assert valid_traceparent(value) is valid


@pytest.mark.process
@pytest.mark.parametrize("how", ["env", "option"])
@pytest.mark.parametrize(
    "value", ["garbage", "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", f"ff-{_IDS}-01"]
)
def test_a_malformed_traceparent_is_ignored_and_the_run_starts_a_trace_of_its_own(
    tmp_path: Path, how: str, value: str
) -> None:
    """W3C trace context: a traceparent that does not parse is ignored and a new trace begins."""
    with OtlpReceiver() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
        extra: tuple[str, ...] = ()
        if how == "env":
            env["TRACEPARENT"] = value
        else:
            extra = ("--traceparent", value)
        ran = _send(tmp_path, 5, env, *extra)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    ignored = ran.one("trace.traceparent_ignored")
    assert ignored["level"] == "warning" and ignored["traceparent"] == value
    (run,) = [s for s in collector.spans if s.name.startswith("run ")]
    assert run.trace_id.hex() not in (TRACE_ID, "0" * 32) and run.parent_span_id == b""
    assert {span.trace_id for span in collector.spans} == {run.trace_id}


@pytest.mark.process
def test_a_malformed_traceparent_says_nothing_when_the_run_is_not_traced() -> None:
    """``TRACEPARENT`` set by whatever started the job never fails a run that does not trace."""
    ran = run_cli(["--job-name", "SomeJob", "--log-format", "json"], env={"TRACEPARENT": "garbage"})
    assert ran.code == 0, ran.stderr
    assert not ran.named("trace.traceparent_ignored") and ran.stderr == ""


@pytest.mark.process
def test_a_later_versions_traceparent_is_continued(tmp_path: Path) -> None:
    with OtlpReceiver() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "TRACEPARENT": f"01-{_IDS}-01-more"}
        ran = _send(tmp_path, 5, env)
    assert ran.code == 0 and not ran.named("trace.traceparent_ignored")
    (run,) = [s for s in collector.spans if s.name.startswith("run ")]
    assert (run.trace_id.hex(), run.parent_span_id.hex()) == (TRACE_ID, PARENT_ID)


@pytest.mark.process
def test_a_collector_that_refuses_the_connection_is_reported(tmp_path: Path) -> None:
    """Refused (nothing listens): the spans are lost, and ``trace.export_failed`` says so."""
    endpoint = closed_port_url().replace("http://", "http://ops:pw-canary-3@")
    ran = _send(tmp_path, 5, {"OTEL_EXPORTER_OTLP_ENDPOINT": f"{endpoint}/"})
    assert ran.code == 0
    failed = ran.one("trace.export_failed")
    assert "not accepted" in failed["error"], failed
    # where it was sent, as the exporter builds it (the base endpoint + /v1/traces), password masked
    assert failed["target"] == endpoint.replace("pw-canary-3", "***") + "/v1/traces"
    assert failed["waited_s"] <= REPORT_TIMEOUT_S + 0.5
    assert ran.events[-1]["event"] == "process.exit"


@pytest.mark.process
def test_an_exporter_list_naming_otlp_traces(tmp_path: Path) -> None:
    with OtlpReceiver() as collector:
        env = {"OTEL_TRACES_EXPORTER": "otlp,console", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
        ran = _send(tmp_path, 5, env)
    assert ran.code == 0 and not ran.named("trace.unavailable")
    assert [s for s in collector.spans if s.name == "run SendPushFromFile"]


@pytest.mark.process
@pytest.mark.parametrize("variable", ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"])
def test_an_otlp_protocol_other_than_http_protobuf_is_said_not_tried(tmp_path: Path, variable: str) -> None:
    """gRPC (port 4317) would get HTTP requests it cannot answer: the run says so and goes on untraced."""
    with OtlpReceiver() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, variable: "grpc"}
        ran = _send(tmp_path, 5, env)
    assert ran.code == 0
    assert "grpc" in ran.one("trace.unavailable")["reason"]
    assert not collector.spans and not ran.named("trace.export_failed")


@pytest.mark.process
def test_without_the_otel_extra_the_run_says_so_and_goes_on_untraced(tmp_path: Path) -> None:
    with OtlpReceiver() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, **without(tmp_path / "site", "opentelemetry")}
        ran = run_cli(["--job-name", "SomeJob", "--log-format", "json"], env=env)
    assert ran.code == 0 and "Traceback" not in ran.stdout + ran.stderr
    assert "jobframe[otel]" in ran.one("trace.unavailable")["reason"]
    assert not collector.spans


@pytest.mark.process
@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "0"}, "max_export_batch_size"),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "20"}, "max_queue_size"),
        ({"OTEL_BSP_SCHEDULE_DELAY": "-1"}, "schedule_delay"),
    ],
)
def test_otel_settings_the_sdk_refuses_leave_the_run_untraced_not_failed(
    variables: dict[str, str], says: str
) -> None:
    with OtlpReceiver() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, **variables}
        ran = run_cli(["--job-name", "SomeJob", "--log-format", "json"], env=env)
    assert ran.code == 0 and "Traceback" not in ran.stdout + ran.stderr, ran.stderr
    assert says in ran.one("trace.unavailable")["reason"]
    assert ran.one("job.finished")["status"] == "succeeded" and not collector.spans


@pytest.mark.process
@pytest.mark.parametrize(
    ("args", "env", "code"),
    [(["--param", "nope=1"], {}, 2), ([], {"ARGO_DEADLINE": "tomorrow"}, 78)],
    ids=["bad-param", "argo-deadline"],
)
def test_a_run_refused_before_it_started_is_a_trace_with_its_exit_code(
    args: list[str], env: dict[str, str], code: int
) -> None:
    with OtlpReceiver() as collector:
        ran = run_cli(
            ["--job-name", "SomeJob", *args], env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, **env}
        )
    assert ran.code == code
    (run,) = collector.spans
    assert run.name == "run SomeJob"
    assert attributes(run)["jobframe.exit_code"] == code
    assert run.status.code == 2  # STATUS_CODE_ERROR


@pytest.mark.process
@pytest.mark.parametrize(
    "headers",
    [
        "Authorization: Bearer otlp-token-canary",  # a colon where the spec wants =
        "Authorization=Bearer otlp-token-canary",  # a space not percent-escaped
        "x-api-key=otlp-token-canary,broken",
        "Authorization=Bearer%20otlp-token-canary",  # right: sent, never logged
    ],
)
def test_otlp_headers_never_reach_the_log_even_when_malformed(headers: str) -> None:
    """OpenTelemetry quotes a header it cannot parse in its warning: the run's log masks it."""
    with OtlpReceiver() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_EXPORTER_OTLP_TRACES_HEADERS": headers}
        ran = run_cli(["--job-name", "SomeJob", "--log-format", "json"], env=env)
    assert ran.code == 0
    assert "otlp-token-canary" not in ran.stdout + ran.stderr
    assert collector.spans  # traced all the same


@pytest.mark.process
def test_an_otlp_endpoint_password_never_reaches_the_log() -> None:
    endpoint = closed_port_url().replace("http://", "http://ops:otlp-pw-canary@")
    ran = run_cli(
        ["--job-name", "SomeJob", "--log-format", "json"], env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
    )
    assert ran.code == 0 and ran.named("trace.export_failed")
    assert "otlp-pw-canary" not in ran.stdout + ran.stderr


@pytest.mark.process
@pytest.mark.parametrize(
    ("variables", "service"),
    [
        ({}, "jobframe"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=pushes,deployment.environment=prod"}, "pushes"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=pushes", "OTEL_SERVICE_NAME": "wins"}, "wins"),
    ],
)
def test_the_service_name_comes_from_the_otel_variables_then_jobframe(
    variables: dict[str, str], service: str
) -> None:
    with OtlpReceiver() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, **variables}
        ran = run_cli(["--job-name", "SomeJob", "--log-format", "json"], env=env)
    assert ran.code == 0
    resource = collector.resources[0]
    assert resource["service.name"] == service and resource["jobframe.job"] == "SomeJob"
    if "deployment.environment" in variables.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        assert resource["deployment.environment"] == "prod"


@pytest.mark.parametrize(
    ("environ", "endpoint"),
    [
        ({}, "http://localhost:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "http://c:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}, "http://c:4318/v1/traces"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c/x", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/y"},
            "http://t/y",
        ),
    ],
)
def test_the_traces_endpoint_is_read_as_the_exporter_reads_it(environ: dict[str, str], endpoint: str) -> None:
    assert traces_endpoint(environ) == endpoint
