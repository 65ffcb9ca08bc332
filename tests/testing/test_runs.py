"""jobframe_run in a user's project: results, exit codes, params, async jobs, captured events."""

from __future__ import annotations

import pytest

from .conftest import run_pytest


def test_a_job_runs_through_the_real_lifecycle(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_greet="""
        from jobframe import ExitCode

        def test_greet(jobframe_run):
            result = jobframe_run("Greet", {"name": "Ada", "times": "2"})
            assert result.exit_code is ExitCode.SUCCEEDED
            assert result.status == "succeeded"
            assert result.result == {"lines": ["hi, Ada", "hi, Ada"]}
            assert result.resources_opened == ["ledger"]
            assert result.resources_closed == ["ledger"]
            finished = result.event("job.finished")
            assert finished["exit_code"] == 0 and finished["job"] == "Greet"
            assert result.event("greeted")["name"] == "Ada"
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=1)


def test_params_validation_retryable_failure_and_async_jobs(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_codes="""
        from jobframe import ExitCode, RetryableError, UsageError

        def test_bad_params_are_a_usage_error_before_anything_is_built(jobframe_run):
            result = jobframe_run("Greet", {"name": "", "times": 9})
            assert result.exit_code is ExitCode.USAGE
            assert not result.started
            assert isinstance(result.error, UsageError)
            assert "name" in str(result.error) and "times" in str(result.error)
            assert result.resources_opened == []

        def test_unknown_job(jobframe_run):
            assert jobframe_run("Greeet").exit_code == 2

        def test_retryable(jobframe_run):
            result = jobframe_run("Flaky")
            assert result.exit_code == 75
            assert isinstance(result.error, RetryableError)
            assert result.event("job.finished")["status"] == "failed"

        def test_async(jobframe_run):
            result = jobframe_run("AsyncCount", {"n": 21})
            assert result.result == 42
            assert result.resources_closed == ["ledger"]
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=4)


def test_a_wrong_expectation_fails_with_the_jobs_error_in_the_message(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_fail="""
        def test_expects_success(jobframe_run):
            assert jobframe_run("Flaky").exit_code == 0
        """
    )
    outcome = run_pytest(shop_project)
    outcome.assert_outcomes(failed=1)
    outcome.stdout.fnmatch_lines(
        ["*JobResult Flaky exit_code=75 (RETRYABLE) error=RetryableError('upstream busy')*"]
    )


def test_events_are_captured_after_redaction(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_secret="""
        import json
        from jobframe.testing import replace_settings

        def test_token_never_logged(jobframe_run, jobframe_override, jobframe_settings):
            jobframe_override(settings=replace_settings(jobframe_settings, api_token="s3cr3t-token"))
            result = jobframe_run("Greet", {"name": "Ada"})
            assert result.exit_code == 0
            assert "s3cr3t-token" not in json.dumps(result.logs, default=str)
            assert result.event("greeted")["url"] == "https://api.example/greet?token=***"
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=1)


def test_a_job_can_run_twice_in_one_test_with_fresh_resources(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_twice="""
        from shop.app import LEDGERS

        def test_twice(jobframe_run):
            first = jobframe_run("Greet", {"name": "a"})
            second = jobframe_run("Greet", {"name": "b"})
            assert (first.exit_code, second.exit_code) == (0, 0)
            assert second.resources_opened == ["ledger"] and second.resources_closed == ["ledger"]
            assert second.result == {"lines": ["hi, b"]}
            assert len(LEDGERS) == 2 and all(ledger.closed for ledger in LEDGERS)
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=1)


SAME_PIPELINE = """
import io
import json
import logging

import pytest
import structlog

from jobframe.embed import run
from jobframe.logs import configure_logging
from jobframe.testing import replace_settings

VOLATILE = {"timestamp", "run_id", "duration_s"}


def printed_by_production(app, job, params, settings, container):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    redact = configure_logging("json", "INFO", stream=stream)
    structlog.configure(cache_logger_on_first_use=False)  # keep this process's loggers uncached
    try:
        run(app, job, params, settings=settings, container=container, redact=redact)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def comparable(events):
    return [{k: v for k, v in e.items() if k not in VOLATILE} for e in events]


@pytest.mark.parametrize("job, params", [("Greet", {"name": "Ada"}), ("Flaky", {}), ("Reprice", {})])
def test_captured_events_are_what_production_prints(
    jobframe_run, jobframe_app, jobframe_container, jobframe_override, jobframe_settings, jobframe_http,
    job, params,
):
    jobframe_http.get(url__regex="/v1/prices/").respond(json={"price": 1})
    settings = replace_settings(jobframe_settings, api_token="s3cr3t-token")
    jobframe_override(settings=settings)

    captured = json.loads(json.dumps(jobframe_run(job, params).logs, default=str))
    printed = printed_by_production(jobframe_app, job, params, settings, jobframe_container)

    assert comparable(captured) == comparable(printed)
    assert "s3cr3t-token" not in json.dumps(printed)
    assert {"timestamp", "level", "logger", "job", "run_id"} <= set(captured[0])
"""


def test_events_are_captured_through_the_production_pipeline(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(test_pipeline=SAME_PIPELINE)
    run_pytest(shop_project).assert_outcomes(passed=3)
