"""No real network in jobframe tests: what nobody faked fails at once, naming the host and the fix.

The outer test stands in for the real resolver and for ``connect``: whatever reaches them is
recorded and refused, so a test here proves what *would* have reached the network, without any.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from jobframe.testing._network import is_loopback

from .conftest import LOOPBACK_SERVER, run_pytest

MESSAGE = (
    "*NetworkBlockedError: blocked a connection to {host}: jobframe tests never reach the real network. "
    "Fake what makes the request: jobframe_http (routes for the NetworkModule's clients), jobframe_braze "
    "(Braze), or jobframe_override(<provider>=stub); or, if the test means it, mark it "
    "@pytest.mark.jobframe_allow_network('{name}')"
)


@pytest.fixture
def reached(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every lookup of a non-loopback name and every connect to a non-loopback address that got through."""
    seen: list[str] = []
    real_lookup, real_connect = socket.getaddrinfo, socket.socket.connect

    def recording_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        text = host.decode() if isinstance(host, bytes) else host
        if text is not None and not is_loopback(str(text)):
            seen.append(f"lookup {text}")
            raise socket.gaierror(socket.EAI_NONAME, "reached the resolver")
        return real_lookup(host, *args, **kwargs)

    def recording_connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(str(address[0])):
            seen.append(f"connect {address[0]}")
            raise ConnectionRefusedError("reached connect")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", recording_lookup)
    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return seen


BLOCKED = """
import pytest
from jobframe.testing import NetworkBlockedError, replace_settings


def test_sync_service(jobframe_run):
    jobframe_run("Reprice", {"skus": ["A-1"]})


def test_async_service(jobframe_run):
    jobframe_run("AsyncReprice", {"skus": ["A-1", "B-2"]})


def test_an_address_instead_of_a_name(jobframe_run, jobframe_override, jobframe_settings):
    jobframe_override(settings=replace_settings(jobframe_settings, prices__base_url="http://10.255.255.1:8080"))
    jobframe_run("Reprice")


def test_the_standard_library(jobframe_run):
    jobframe_run("Fetch", {"url": "http://downloads.shop.example/file"})


def test_a_job_that_swallows_the_error(jobframe_run):
    jobframe_run("CarefulReprice")


def test_the_test_body_itself(jobframe_container):
    jobframe_container.network.client().get("/v1/prices/A-1")


def test_the_run_still_raises_when_the_job_caught_it(jobframe_run):
    with pytest.raises(NetworkBlockedError) as blocked:
        jobframe_run("CarefulReprice", {"skus": ["A-1", "B-2"]})
    assert blocked.value.attempts == ["prices.shop.example:443", "prices.shop.example:443"]
    assert blocked.value.result.succeeded and blocked.value.result.result == {"A-1": None, "B-2": None}
    assert blocked.value.result.resources_closed == ["network.client"]
"""


def test_every_way_out_fails_at_once_with_the_host_and_the_fix(
    shop_project: pytest.Pytester, reached: list[str]
) -> None:
    shop_project.makepyfile(test_blocked=BLOCKED)
    outcome = run_pytest(shop_project, "-p", "no:randomly")
    outcome.assert_outcomes(failed=6, passed=1)
    outcome.stdout.fnmatch_lines(
        [
            "*_ test_sync_service _*",
            MESSAGE.format(host="prices.shop.example:443", name="prices.shop.example"),
            "*_ test_async_service _*",
            # the first refusal fails the gather; whether the second lookup was made first varies
            "*NetworkBlockedError: blocked a connection to prices.shop.example:443*: jobframe tests never*",
            "*_ test_an_address_instead_of_a_name _*",
            MESSAGE.format(host="10.255.255.1:8080", name="10.255.255.1"),
            "*_ test_the_standard_library _*",
            MESSAGE.format(host="downloads.shop.example:80", name="downloads.shop.example"),
            "*_ test_a_job_that_swallows_the_error _*",
            MESSAGE.format(host="prices.shop.example:443", name="prices.shop.example"),
            "*_ test_the_test_body_itself _*",
            MESSAGE.format(host="prices.shop.example:443", name="prices.shop.example"),
        ]
    )
    assert reached == []  # nothing got as far as the resolver or a connect


ALLOWED = """
import socket

import pytest
from jobframe.testing import NetworkBlockedError, replace_settings


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_stays_reachable(jobframe_run, jobframe_override, jobframe_settings, price_server, host):
    settings = replace_settings(jobframe_settings, prices__base_url=f"http://{host}:{price_server}")
    jobframe_override(settings=settings)
    assert jobframe_run("Reprice").result == {"A-1": 9.5}
    assert jobframe_run("AsyncReprice").result == {"A-1": 9.5}


@pytest.mark.jobframe_allow_network
def test_the_marker_lets_every_host_through(jobframe_run):
    assert "reached the resolver" in str(jobframe_run("Reprice").error)
    assert "reached the resolver" in str(jobframe_run("Fetch", {"url": "http://downloads.shop.example/"}).error)


@pytest.mark.jobframe_allow_network("prices.shop.example")
def test_the_marker_with_hosts_lets_only_those_through(jobframe_run):
    assert "reached the resolver" in str(jobframe_run("Reprice").error)
    with pytest.raises(NetworkBlockedError, match="downloads.shop.example:80"):
        jobframe_run("Fetch", {"url": "http://downloads.shop.example/"})


def test_a_test_without_jobframe_fixtures_sees_no_change(request):
    assert not [name for name in request.fixturenames if name.startswith("jobframe") or name == "fake_braze"]
    with pytest.raises(socket.gaierror, match="reached the resolver"):
        socket.getaddrinfo("prices.shop.example", 443)
    assert socket.socket.connect.__name__ == "recording_connect"
"""


def test_loopback_the_marker_and_tests_without_jobframe(
    shop_project: pytest.Pytester, reached: list[str]
) -> None:
    shop_project.makeconftest(LOOPBACK_SERVER)
    shop_project.makepyfile(test_allowed=ALLOWED)
    run_pytest(shop_project, "-p", "no:randomly", "--strict-markers").assert_outcomes(passed=5)
    assert reached == [
        "lookup prices.shop.example",
        "lookup downloads.shop.example",
        "lookup prices.shop.example",
        "lookup prices.shop.example",
    ]
    assert socket.getaddrinfo.__name__ == "recording_lookup"  # the guard put back what it found


def test_nothing_in_the_plugin_is_autouse(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import socket

        def test_plain(request):
            assert request.fixturenames == ["request"]
            assert "connect" not in vars(socket.socket)
        """
    )
    run_pytest(pytester).assert_outcomes(passed=1)
