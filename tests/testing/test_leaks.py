"""Leak assertions: a run that leaves something behind fails its test, naming the culprit."""

from __future__ import annotations

import pytest

from .conftest import LOOPBACK_SERVER, SHOP_APP, run_pytest

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


def _line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


KEPT_OR_DROPPED = """
import pytest

@pytest.mark.parametrize("kind", ["client", "mock_client", "unused_client", "socket", "file"])
def test_kept(jobframe_run, price_server, kind):
    jobframe_run("KeepOpen", {"kind": kind, "url": f"127.0.0.1:{price_server}" if kind == "socket"
                 else f"http://127.0.0.1:{price_server}/v1/prices/A-1"})

@pytest.mark.parametrize("kind", ["client", "socket", "file"])
def test_dropped(jobframe_run, price_server, kind):
    jobframe_run("DropOpen", {"kind": kind, "url": f"127.0.0.1:{price_server}" if kind == "socket"
                 else f"http://127.0.0.1:{price_server}/v1/prices/A-1"})
"""


def test_every_client_socket_or_file_left_open_is_named_with_where_it_was_opened(
    shop_project: pytest.Pytester,
) -> None:
    shop_project.makeconftest(LOOPBACK_SERVER)
    shop_project.makepyfile(test_kept=KEPT_OR_DROPPED)
    outcome = run_pytest(shop_project, "-p", "no:randomly")
    outcome.assert_outcomes(failed=8)
    app = "shop/app.py"
    at = {
        kind: f"opened at {app}:{_line_of(SHOP_APP, text)} in open_thing"
        for kind, text in [
            ("client", "client = httpx.Client()"),
            ("mock_client", "client = httpx.Client(transport=httpx.MockTransport"),
            ("unused_client", "return httpx.AsyncClient(base_url=url)"),
            ("socket", "return socket.create_connection"),
            ("file", "return open(__file__)"),
            ("request", "client.get(url)"),
        ]
    }
    outcome.stdout.fnmatch_lines(
        [
            "*LeakError: job KeepOpen leaked:",
            f"*  Client() {at['client']}, and was never closed",
            f"*  socket to 127.0.0.1:* {at['request']}, and was never closed",
            "*LeakError: job KeepOpen leaked:",
            f"*  Client() on MockTransport {at['mock_client']}, and was never closed",
            "*LeakError: job KeepOpen leaked:",
            f"*  AsyncClient(base_url='http://127.0.0.1:*/v1/prices/A-1/') {at['unused_client']}, *",
            "*LeakError: job KeepOpen leaked:",
            f"*  socket to 127.0.0.1:* {at['socket']}, and was never closed",
            "*LeakError: job KeepOpen leaked:",
            f"*  file '*{app}' {at['file']}, and was never closed",
            "*LeakError: job DropOpen leaked:",
            f"*  ResourceWarning: unclosed <socket.socket * ({at['request']})",
            "*LeakError: job DropOpen leaked:",
            f"*  ResourceWarning: unclosed <socket.socket * ({at['socket']})",
            "*LeakError: job DropOpen leaked:",
            f"*  ResourceWarning: unclosed file * ({at['file']})",
        ]
    )


TEST_SCOPE = """
import asyncio
import pytest
from shop.app import LEDGERS

def test_left_open(jobframe_container):
    jobframe_container.ledger()

def test_left_open_through_a_dependency(jobframe_container):
    jobframe_container.formatter()

def test_closed_by_the_test(jobframe_container):
    jobframe_container.ledger()
    jobframe_container.ledger.shutdown()

def test_closed_with_every_other_resource(jobframe_container):
    jobframe_container.ledger()
    jobframe_container.network.client()
    jobframe_container.shutdown_resources()

@pytest.mark.jobframe_allow_leaks
def test_allowed(jobframe_container):
    jobframe_container.ledger()

def test_a_failing_test_is_not_reported_twice(jobframe_container):
    jobframe_container.ledger()
    assert False, "the test's own failure"

def test_all_were_closed_anyway():
    assert LEDGERS and all(ledger.closed for ledger in LEDGERS)
"""


def test_a_resource_the_test_opened_and_left_open_fails_it(shop_project: pytest.Pytester) -> None:
    scope = TEST_SCOPE.strip("\n")
    shop_project.makepyfile(test_scope=scope)
    outcome = run_pytest(shop_project, "-p", "no:randomly")
    outcome.assert_outcomes(passed=6, failed=1, errors=2)
    outcome.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_left_open _*",
            "*LeakError: test test_left_open leaked:",
            f"*  resource 'ledger' opened at test_scope.py:{_line_of(scope, 'ledger()')} in test_left_open, "
            "and the test never closed it (jobframe_container.ledger.shutdown())",
            "*ERROR at teardown of test_left_open_through_a_dependency _*",
            f"*  resource 'ledger' opened at test_scope.py:{_line_of(scope, 'formatter()')} "
            "in test_left_open_through_a_dependency, *",
        ]
    )
    assert "test_a_failing_test_is_not_reported_twice leaked" not in outcome.stdout.str()
