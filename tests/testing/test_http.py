"""jobframe_http: the network module's real clients, answered by respx routes (sync and async)."""

from __future__ import annotations

import pytest

from .conftest import run_pytest

FAKED = r"""
import httpx
from jobframe.testing import replace_settings


def test_sync_and_async_clients_are_answered_by_the_routes(jobframe_run, jobframe_http):
    a1 = jobframe_http.get("https://prices.shop.example/v1/prices/A-1").respond(json={"price": 12.5})
    jobframe_http.get(url__regex=r"/v1/prices/B-\d+$").respond(json={"price": 1})

    result = jobframe_run("Reprice", {"skus": ["A-1", "B-2"]})

    assert result.result == {"A-1": 12.5, "B-2": 1.0}
    assert a1.call_count == 1 and a1.calls.last.request.url.path == "/v1/prices/A-1"
    assert result.resources_opened == result.resources_closed == ["network.client"]
    assert jobframe_run("AsyncReprice", {"skus": ["A-1", "B-7"]}).result == {"A-1": 12.5, "B-7": 1.0}
    assert a1.call_count == 2


def test_the_modules_settings_still_apply(jobframe_run, jobframe_http, jobframe_override, jobframe_settings):
    changed = replace_settings(
        jobframe_settings, prices__base_url="https://eu.prices.shop.example", prices__headers={"X-Shop": "7"}
    )
    jobframe_override(settings=changed)
    route = jobframe_http.get("https://eu.prices.shop.example/v1/prices/A-1").respond(json={"price": 2})

    assert jobframe_run("Reprice").result == {"A-1": 2.0}
    assert route.calls.last.request.headers["X-Shop"] == "7"


def test_an_unmatched_request_fails_at_once_naming_it(jobframe_run, jobframe_http):
    result = jobframe_run("Reprice", {"skus": ["Z-9"]})
    assert result.exit_code == 1
    assert "https://prices.shop.example/v1/prices/Z-9" in str(result.error)
    assert "not mocked" in str(result.error)


def test_failures_are_answers_too(jobframe_run, jobframe_http):
    jobframe_http.get(url__startswith="https://prices.shop.example/").respond(503)
    result = jobframe_run("Reprice")
    assert result.exit_code == 1 and isinstance(result.error, httpx.HTTPStatusError)

    jobframe_http.get(url__startswith="https://prices.shop.example/").mock(side_effect=httpx.ConnectTimeout)
    assert isinstance(jobframe_run("AsyncReprice").error, httpx.ConnectTimeout)


def test_more_requests_than_the_per_host_limit(jobframe_run, jobframe_http):
    jobframe_http.get(url__regex=r"/v1/prices/").respond(json={"price": 4})
    skus = [f"S-{i}" for i in range(40)]  # the module allows 5 in flight per host
    assert jobframe_run("Reprice", {"skus": skus}).result == dict.fromkeys(skus, 4.0)
    assert jobframe_run("AsyncReprice", {"skus": skus}).result == dict.fromkeys(skus, 4.0)
    assert jobframe_http.calls.call_count == 80


def test_each_test_gets_fresh_routes(jobframe_http):
    assert list(jobframe_http.routes) == [] and jobframe_http.calls.call_count == 0


def test_the_braze_fake_under_both_names(jobframe_braze, fake_braze):
    assert fake_braze is jobframe_braze
"""


def test_faking_a_non_braze_host_with_jobframe_http(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(test_prices=FAKED)
    run_pytest(shop_project, "-W", "error::ResourceWarning").assert_outcomes(passed=7)


def test_use_fake_http_wires_a_module_by_name(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_named="""
        import pytest
        from jobframe.testing import use_fake_http
        from jobframe.testing._http import new_router

        def test_named_module(jobframe_container, jobframe_run):
            router = new_router()
            router.get("https://prices.shop.example/v1/prices/A-1").respond(json={"price": 3})
            with use_fake_http(jobframe_container, router, module="network"):
                assert jobframe_run("Reprice").result == {"A-1": 3.0}

        def test_no_such_module(jobframe_container):
            with pytest.raises(LookupError, match="has no NetworkModule"):
                use_fake_http(jobframe_container, new_router(), module="nope")
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=2)
