"""Leak assertions: a run that leaves something behind fails its test, naming the culprit."""

from __future__ import annotations

import pytest

from .conftest import run_pytest

LEAKY_TESTS = """
import pytest
from shop.app import STOP

def test_thread(jobframe_run):
    try:
        jobframe_run("LeakThread")
    finally:
        STOP.set()

def test_file(jobframe_run):
    jobframe_run("LeakFile")

def test_unmanaged_client(jobframe_run):
    jobframe_run("UnmanagedClient")
"""


def test_each_kind_of_leak_fails_the_test_with_a_readable_message(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(test_leaky=LEAKY_TESTS)
    outcome = run_pytest(shop_project)
    outcome.assert_outcomes(failed=3)
    outcome.stdout.fnmatch_lines(
        [
            "*LeakError: job LeakThread leaked:",
            "*non-daemon thread still running: 'forgotten-worker' (target=threading.Event.wait*",
            "*LeakError: job LeakFile leaked:",
            "*ResourceWarning: unclosed file*app.py*",
            "*LeakError: job UnmanagedClient leaked:",
            "*provider 'unmanaged.http' held a closeable object that only the safety net closed*",
        ]
    )
    outcome.stdout.fnmatch_lines(["*opt out with @pytest.mark.jobframe_allow_leaks*"])


def test_a_resource_whose_close_fails_is_a_leak(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_close="""
        from dependency_injector import providers

        class Stuck:
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                raise OSError("cannot flush")

        def test_close_fails(jobframe_run, jobframe_override):
            jobframe_override(ledger=providers.Resource(Stuck))
            jobframe_run("AsyncCount")
        """
    )
    outcome = run_pytest(shop_project)
    outcome.assert_outcomes(failed=1)
    outcome.stdout.fnmatch_lines(["*resource 'ledger*' failed to close*"])


def test_the_marker_and_the_parameter_opt_out(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_allowed=LEAKY_TESTS.replace("def test_", "@pytest.mark.jobframe_allow_leaks\ndef test_")
        + """
def test_parameter(jobframe_run):
    result = jobframe_run("LeakFile", check_leaks=False)
    assert result.exit_code == 0
    assert result.leaks.resource_warnings and "unclosed file" in result.leaks.resource_warnings[0]
"""
    )
    run_pytest(shop_project, "--strict-markers").assert_outcomes(passed=4)


def test_a_clean_run_reports_no_leaks(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_clean="""
        def test_clean(jobframe_run):
            result = jobframe_run("Greet", {"name": "x"})
            assert not result.leaks and result.leaks.lines() == []
        """
    )
    run_pytest(shop_project, "-W", "error::ResourceWarning").assert_outcomes(passed=1)
