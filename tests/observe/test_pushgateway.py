"""``--pushgateway``: real jobframe processes pushing to a real Pushgateway (docs/observability.md).

The promises: every run's end is pushed under ``job=<name>`` (+ ``shard``); the last success
survives a failed run; a gateway that is down, hangs or is interrupted by SIGTERM never changes the
exit code and never delays the exit past the documented bound.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jobframe.observe.report import REPORT_TIMEOUT_S
from tests.conftest import REPO, Ran, clean_env, run_cli
from tests.lifecycle.jobproc import APPS as LIFECYCLE_APPS
from tests.observe.gateway import (
    BASIC_AUTH,
    HangingServer,
    Sample,
    closed_port_url,
    pushgateway,
    scrape,
)
from tests.observe.missing import without
from tests.observe.pushjob import malformed_ids, push_args, write_ids

pytestmark = pytest.mark.process

SLACK_S = 3.0
"""Beyond the documented bound: interpreter start-up and teardown on a loaded machine."""


def _ids(tmp_path: Path, count: int) -> Path:
    return write_ids(tmp_path, count)


def _send(path: Path, *extra: str, env: dict[str, str] | None = None) -> Ran:
    return run_cli([*push_args(path), "--log-format", "json", *extra], env=env)


def _value(samples: dict[Sample, float], name: str, **labels: str) -> float:
    key = (name, frozenset({"instance": "", **labels}.items()))
    assert key in samples, f"{name}{labels} not pushed; the gateway has: {sorted(samples)}"
    return samples[key]


def test_a_successful_run_pushes_its_metrics_and_counts_under_its_job(gateway: str, tmp_path: Path) -> None:
    ran = _send(_ids(tmp_path, 120), "--pushgateway", gateway)
    assert ran.code == 0, ran.stderr
    assert not ran.named("metrics.push_failed")
    samples = scrape(gateway)
    job = {"job": "SendPushFromFile"}
    assert _value(samples, "jobframe_job_exit_code", **job) == 0
    duration = _value(samples, "jobframe_job_duration_seconds", **job)
    assert duration == pytest.approx(ran.one("job.finished")["duration_s"], abs=1e-6)
    last_run = _value(samples, "jobframe_job_last_run_timestamp_seconds", **job)
    assert abs(last_run - time.time()) < 120
    assert _value(samples, "jobframe_job_last_success_timestamp_seconds", **job) == last_run
    send = {**job, "endpoint": "/messages/send"}
    batches = ran.one("job.finished")["result"]["batches"]
    assert batches >= 2  # more than one batch: the counters add up across them
    assert _value(samples, "jobframe_braze_objects_sent_total", **send) == 120
    assert _value(samples, "jobframe_braze_requests_total", **send) == batches
    for name in ("objects_rejected", "objects_ambiguous", "rate_limited", "retries"):
        assert _value(samples, f"jobframe_braze_{name}_total", **send) == 0
    assert _value(samples, "jobframe_ledger_skipped_objects_total", **send) == 0


def test_a_failed_run_never_overwrites_the_last_success(gateway: str, tmp_path: Path) -> None:
    ok = _send(_ids(tmp_path, 10), "--pushgateway", gateway)
    assert ok.code == 0, ok.stderr
    job = {"job": "SendPushFromFile"}
    success = _value(scrape(gateway), "jobframe_job_last_success_timestamp_seconds", **job)

    failed = _send(malformed_ids(tmp_path), "--pushgateway", gateway)  # the job fails: exit 2
    assert failed.code == 2, failed.stdout
    after = scrape(gateway)
    assert _value(after, "jobframe_job_exit_code", **job) == 2
    assert _value(after, "jobframe_job_last_run_timestamp_seconds", **job) > success
    assert _value(after, "jobframe_job_last_success_timestamp_seconds", **job) == success

    again = _send(_ids(tmp_path, 10), "--pushgateway", gateway)  # and a success moves it on
    assert again.code == 0
    assert _value(scrape(gateway), "jobframe_job_last_success_timestamp_seconds", **job) > success


def test_a_shard_is_its_own_group(gateway: str, tmp_path: Path) -> None:
    path = _ids(tmp_path, 40)
    for shard in ("0/2", "1/2"):
        assert _send(path, "--shard", shard, "--pushgateway", gateway).code == 0
    samples = scrape(gateway)
    sent = [
        _value(
            samples,
            "jobframe_braze_objects_sent_total",
            job="SendPushFromFile",
            shard=s,
            endpoint="/messages/send",
        )
        for s in ("0/2", "1/2")
    ]
    assert sum(sent) == 40 and all(sent)


def test_the_gateway_comes_from_jobframe_pushgateway_too(gateway: str) -> None:
    ran = run_cli(["--job-name", "SomeJob", "--log-format", "json"], env={"JOBFRAME_PUSHGATEWAY": gateway})
    assert ran.code == 0
    assert _value(scrape(gateway), "jobframe_job_exit_code", job="SomeJob") == 0


def _exit_latency(ran: Ran) -> float:
    return float(ran.one("process.exit")["exit_latency_s"])


@pytest.mark.parametrize("missing", [False, True], ids=["succeeds", "fails"])
def test_a_gateway_that_is_down_changes_nothing_but_a_warning(tmp_path: Path, missing: bool) -> None:
    path = malformed_ids(tmp_path) if missing else _ids(tmp_path, 5)
    url = closed_port_url().replace("http://", "http://ops:gateway-pw-canary@")
    ran = _send(path, "--pushgateway", url)
    assert ran.code == (2 if missing else 0)
    assert "gateway-pw-canary" not in ran.stdout + ran.stderr
    failed = ran.one("metrics.push_failed")
    assert failed["target"] == url.replace("gateway-pw-canary", "***")
    assert "Connection refused" in failed["error"] or "URLError" in failed["error"], failed
    assert _exit_latency(ran) < REPORT_TIMEOUT_S + SLACK_S
    assert ran.events[-1]["event"] == "process.exit"


@pytest.mark.parametrize("missing", [False, True], ids=["succeeds", "fails"])
def test_a_gateway_that_hangs_delays_the_exit_by_the_bound_at_most(tmp_path: Path, missing: bool) -> None:
    path = malformed_ids(tmp_path) if missing else _ids(tmp_path, 5)
    with HangingServer() as hanging:
        ran = _send(path, "--pushgateway", hanging.url)
        assert hanging.accepted.is_set()  # it really tried
    assert ran.code == (2 if missing else 0)
    failed = ran.one("metrics.push_failed")
    assert failed["waited_s"] <= REPORT_TIMEOUT_S + 0.5
    assert _exit_latency(ran) < REPORT_TIMEOUT_S + SLACK_S
    assert ran.events[-1]["event"] == "process.exit"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("hanging", ["gateway", "collector", "both"])
@pytest.mark.parametrize("missing", [False, True], ids=["succeeds", "fails"])
def test_a_signal_during_the_report_ends_the_process_at_once_with_the_jobs_code(
    tmp_path: Path, sig: signal.Signals, hanging: str, missing: bool
) -> None:
    """Whatever hangs at the end (the push, the trace flush, both), a signal ends the wait at once."""
    path = malformed_ids(tmp_path) if missing else _ids(tmp_path, 5)
    with HangingServer() as gateway, HangingServer() as collector:
        servers = {"gateway": [gateway], "collector": [collector], "both": [gateway, collector]}[hanging]
        args = [*push_args(path), "--log-format", "json"]
        env = {}
        if gateway in servers:
            args += ["--pushgateway", gateway.url]
        if collector in servers:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.url
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobframe", *args],
            cwd=REPO,
            env=clean_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for server in servers:
                assert server.accepted.wait(60), f"jobframe never reached the {hanging}"
            sent = time.monotonic()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    events: list[dict[str, Any]] = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    code = 2 if missing else 0
    assert proc.returncode == code, err  # the job had ended: a signal after it keeps its code
    last = events[-1]
    assert last["event"] == "process.exit"
    assert (last["exit_code"], last["signal"], last["phase"]) == (code, sig.name, "exiting")
    assert "Traceback" not in err
    assert took < SLACK_S  # at once: not after the report's bound


def test_a_run_refused_before_it_starts_is_pushed_too(gateway: str, tmp_path: Path) -> None:
    """A configuration error (78) is a failed attempt an alert must see ("exit code 78")."""
    ran = run_cli(["--job-name", "SomeJob", "--env", "nowhere", "--pushgateway", gateway])
    assert ran.code == 78
    samples = scrape(gateway)
    assert _value(samples, "jobframe_job_exit_code", job="SomeJob") == 78
    assert (
        "jobframe_job_last_success_timestamp_seconds",
        frozenset({"instance": "", "job": "SomeJob"}.items()),
    ) not in samples


def test_near_the_deadline_a_hanging_gateway_gets_only_the_time_left(tmp_path: Path) -> None:
    """Cancelled for its deadline, the run reports within what is left of it, never past it."""
    with HangingServer() as hanging:
        args = ["--job-name", "Sleep", "--param", "seconds=60", "--timeout", "4", "--log-format", "json"]
        ran = run_cli([*args, "--pushgateway", hanging.url])
    assert ran.code == 124
    finished = ran.one("job.finished")
    failed = ran.one("metrics.push_failed")
    started = ran.one("job.started")
    assert failed["waited_s"] < REPORT_TIMEOUT_S  # cut short: the deadline was nearer than the bound
    # the report ended at least DEADLINE_MARGIN_S before the deadline the run was given
    left_at_start = started["seconds_left"]
    spent = finished["duration_s"] + ran.one("process.exit")["exit_latency_s"]
    assert spent < left_at_start, (spent, left_at_start)


def test_a_resumed_run_pushes_what_the_ledger_skipped(gateway: str, tmp_path: Path) -> None:
    """A retry under the same --run-key after a success sends nothing again: all skipped, counted."""
    env = {"LEDGER__PATH": str(tmp_path / "ledger.sqlite3")}
    path = _ids(tmp_path, 120)
    first = _send(path, "--run-key", "k1", env=env)
    assert first.code == 0
    again = _send(path, "--run-key", "k1", "--pushgateway", gateway, env=env)
    assert again.code == 0, again.stdout
    send = {"job": "SendPushFromFile", "endpoint": "/messages/send"}
    samples = scrape(gateway)
    assert _value(samples, "jobframe_ledger_skipped_objects_total", **send) == 120
    assert _value(samples, "jobframe_braze_objects_sent_total", **send) == 0
    assert _value(samples, "jobframe_braze_requests_total", **send) == 0


def test_a_job_name_the_app_does_not_have_pushes_nothing(gateway: str) -> None:
    """A typo would leave a group for a job that does not exist (and a never-succeeded alert) forever;
    a known job's bad ``--param`` is its scheduled run failing, and is pushed (exit 2)."""
    typo = run_cli(["--job-name", "SomeJbo", "--pushgateway", gateway])
    bad_param = run_cli(["--job-name", "SomeJob", "--param", "nope=1", "--pushgateway", gateway])
    assert (typo.code, bad_param.code) == (2, 2)
    samples = scrape(gateway)
    assert {dict(labels)["job"] for _, labels in samples} == {"SomeJob"}
    assert _value(samples, "jobframe_job_exit_code", job="SomeJob") == 2


def test_a_gateway_behind_basic_auth_gets_the_user_and_password_of_the_url(tmp_path: Path) -> None:
    """``http://user:password@host`` (percent-escaped) authenticates, and the password is never shown."""
    from urllib.parse import quote  # noqa: PLC0415

    user, password, _ = BASIC_AUTH
    with pushgateway(basic_auth=True) as url:
        with_auth = url.replace("http://", f"http://{user}:{quote(password, safe='')}@")
        ran = _send(_ids(tmp_path, 5), "--pushgateway", with_auth)
        wrong = _send(_ids(tmp_path, 5), "--pushgateway", url.replace("http://", "http://jobframe:nope@"))
        samples = scrape(url, basic_auth=True)
    assert (ran.code, wrong.code) == (0, 0)
    assert not ran.named("metrics.push_failed"), ran.stdout
    assert (
        _value(
            samples, "jobframe_braze_objects_sent_total", job="SendPushFromFile", endpoint="/messages/send"
        )
        == 5
    )
    failed = wrong.one("metrics.push_failed")
    assert "401" in failed["error"] and failed["target"] == url.replace("http://", "http://jobframe:***@")
    for output in (ran.stdout + ran.stderr, wrong.stdout + wrong.stderr):
        assert quote(password, safe="") not in output and "nope" not in output


def test_success_failure_success_leaves_what_each_push_promises(gateway: str, tmp_path: Path) -> None:
    """A failure adds to the group (the last success stays); the next success replaces all of it."""
    first = _send(_ids(tmp_path, 5), "--pushgateway", gateway)
    after_first = scrape(gateway)
    failed = _send(malformed_ids(tmp_path), "--pushgateway", gateway)
    after_failure = scrape(gateway)
    again = _send(_ids(tmp_path, 7), "--pushgateway", gateway)
    after_again = scrape(gateway)
    assert (first.code, failed.code, again.code) == (0, 2, 0)
    job = {"job": "SendPushFromFile"}
    success = "jobframe_job_last_success_timestamp_seconds"
    last_run = "jobframe_job_last_run_timestamp_seconds"
    assert _value(after_failure, success, **job) == _value(after_first, success, **job)
    assert _value(after_failure, last_run, **job) > _value(after_first, last_run, **job)
    assert _value(after_failure, "jobframe_job_exit_code", **job) == 2
    # the failed run called no endpoint: the first run's counters are still there
    send = {**job, "endpoint": "/messages/send"}
    assert _value(after_failure, "jobframe_braze_objects_sent_total", **send) == 5
    assert _value(after_again, success, **job) == _value(after_again, last_run, **job)
    assert _value(after_again, success, **job) > _value(after_failure, last_run, **job)
    assert _value(after_again, "jobframe_job_exit_code", **job) == 0
    assert _value(after_again, "jobframe_braze_objects_sent_total", **send) == 7


def test_a_push_the_gateway_refuses_says_why(gateway: str) -> None:
    """A 400 names its reason (here: another pusher's ``jobframe_job_exit_code`` is a counter)."""
    import urllib.request  # noqa: PLC0415

    clash = b"# TYPE jobframe_job_exit_code counter\njobframe_job_exit_code 3\n"
    with urllib.request.urlopen(urllib.request.Request(f"{gateway}/metrics/job/other", clash, method="PUT")):
        pass
    ran = run_cli(["--job-name", "SomeJob", "--log-format", "json", "--pushgateway", gateway])
    assert ran.code == 0
    error = ran.one("metrics.push_failed")["error"]
    assert "400" in error and "inconsistent with existing metrics" in error, error
    assert "jobframe_job_exit_code" in error, error


def test_without_the_metrics_extra_pushgateway_is_a_usage_error_before_the_run(
    gateway: str, tmp_path: Path
) -> None:
    env = without(tmp_path / "site", "prometheus_client")
    ran = run_cli(["--job-name", "SomeJob", "--log-format", "json", "--pushgateway", gateway], env=env)
    assert ran.code == 2 and "Traceback" not in ran.stderr
    assert (
        ran.stderr.strip()
        == "jobframe: error: --pushgateway needs prometheus-client: pip install 'jobframe[metrics]'"
    )
    assert not ran.named("job.started") and not scrape(gateway)


@pytest.mark.parametrize(
    ("args", "env", "code"),
    [
        ([], {"ARGO_DEADLINE": "tomorrow"}, 78),  # a configuration error found before the job started
        (["--param", "users"], {}, 2),  # a --param without =
        (["--fresh-run"], {}, 2),  # an option that needs --run-key
        (["--env", "nowhere"], {}, 78),
    ],
    ids=["argo-deadline", "param-syntax", "fresh-run", "profile"],
)
def test_every_refusal_of_a_known_job_is_pushed_with_its_exit_code(
    gateway: str, args: list[str], env: dict[str, str], code: int
) -> None:
    ran = run_cli(["--job-name", "SomeJob", "--pushgateway", gateway, *args], env=env)
    assert ran.code == code, ran.stderr
    samples = scrape(gateway)
    assert _value(samples, "jobframe_job_exit_code", job="SomeJob") == code
    assert (
        "jobframe_job_last_success_timestamp_seconds",
        frozenset({"instance": "", "job": "SomeJob"}.items()),
    ) not in samples


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_run_ended_by_a_signal_is_pushed_with_its_exit_code(gateway: str, sig: signal.Signals) -> None:
    """Killed mid-job (143, 130): the alert on exit codes sees it like any other failure."""
    proc = subprocess.Popen(
        [
            *[sys.executable, "-m", "jobframe", "--job-name", "Sleep", "--param", "seconds=120"],
            *["--log-format", "json", "--pushgateway", gateway],
        ],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the event, not a delay: the job is running
            if '"job.started"' in line:
                break
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    code = 128 + sig.value
    assert proc.returncode == code
    samples = scrape(gateway)
    assert _value(samples, "jobframe_job_exit_code", job="Sleep") == code
    assert _value(samples, "jobframe_job_duration_seconds", job="Sleep") < 120
    assert (
        "jobframe_job_last_success_timestamp_seconds",
        frozenset({"instance": "", "job": "Sleep"}.items()),
    ) not in samples


def _refused_with_hanging_gateway(gateway: HangingServer, *extra: str) -> subprocess.Popen[str]:
    """A run refused before it starts (no profile ``nowhere``: 78), pushing to ``gateway``."""
    args = ["--job-name", "SomeJob", "--env", "nowhere", "--log-format", "json", "--pushgateway", gateway.url]
    return subprocess.Popen(
        [sys.executable, "-m", "jobframe", *args, *extra],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_refusals_push_keeps_the_refusals_code(sig: signal.Signals) -> None:
    # before: 143/130, as if the run had been stopped: the configuration error (78) was lost
    with HangingServer() as gateway:
        proc = _refused_with_hanging_gateway(gateway)
        try:
            assert gateway.accepted.wait(60), "jobframe never reached the gateway"
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 78, err
    assert "jobframe: error: no profile 'nowhere'" in err  # said before the push, not lost with it
    last = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    assert (last["event"], last["exit_code"], last["signal"]) == ("process.exit", 78, sig.name)


def test_a_refusals_push_is_bounded_by_the_exit_grace_too() -> None:
    # "never more than --exit-grace": before, a refused run waited the full REPORT_TIMEOUT_S
    grace = 0.5
    with HangingServer() as gateway:
        proc = _refused_with_hanging_gateway(gateway, "--exit-grace", str(grace))
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 78, err
    failed = [json.loads(line) for line in out.splitlines() if '"metrics.push_failed"' in line]
    assert len(failed) == 1, out
    assert failed[0]["waited_s"] < grace + 1.0, failed  # generous, and still well short of the 2 s


@pytest.mark.parametrize("end", ["SIGTERM", "deadline"])
def test_a_batch_in_flight_when_the_run_is_interrupted_is_pushed_as_ambiguous(
    gateway: str, tmp_path: Path, end: str
) -> None:
    """Braze may have received it: its objects are "outcome unknown", as the run ledger has them,
    never in no counter at all (the ambiguous-objects alert must see them)."""
    extra = ["--timeout", "4"] if end == "deadline" else []
    with HangingServer() as braze:
        proc = subprocess.Popen(
            [
                *[sys.executable, "-m", "jobframe", *push_args(_ids(tmp_path, 60))],
                *["--log-format", "json", "--pushgateway", gateway, *extra],
            ],
            cwd=REPO,
            env=clean_env({"BRAZE__BASE_URL": braze.url, "BRAZE__TIMEOUTS__READ": "120"}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert braze.accepted.wait(60)  # the first batch (50) is on its way: the server holds it
            if end == "SIGTERM":
                proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == (143 if end == "SIGTERM" else 124)
    samples = scrape(gateway)
    endpoint = {"job": "SendPushFromFile", "endpoint": "/messages/send"}
    assert _value(samples, "jobframe_braze_requests_total", **endpoint) == 1
    assert _value(samples, "jobframe_braze_objects_ambiguous_total", **endpoint) == 50
    assert _value(samples, "jobframe_braze_objects_sent_total", **endpoint) == 0


@pytest.mark.parametrize(("value", "code"), [("0", 0), ("3", 1), ("75", 1), ("ctrl-c", 130)])
def test_a_job_ending_itself_is_pushed_with_the_code_the_process_exits_with(
    gateway: str, value: str, code: int
) -> None:
    """``sys.exit(n)`` from the job: the gateway holds the process's real exit code (the table's,
    never the job's number), and only a success sets the last success."""
    ran = run_cli(
        [
            *["--app", "hostile:Container", "--job-name", "EndsItself", "--param", f"value={value}"],
            *["--log-format", "json", "--pushgateway", gateway],
        ],
        cwd=LIFECYCLE_APPS,
        env={"PYTHONPATH": f"{LIFECYCLE_APPS}:{REPO}"},
    )
    assert ran.code == code, ran.stderr
    assert ran.events[-1]["event"] == "process.exit" and ran.events[-1]["exit_code"] == code
    samples = scrape(gateway)
    assert _value(samples, "jobframe_job_exit_code", job="EndsItself") == code
    success = (
        "jobframe_job_last_success_timestamp_seconds",
        frozenset({"instance": "", "job": "EndsItself"}.items()),
    )
    assert (success in samples) is (code == 0)
