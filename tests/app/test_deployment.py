"""Deployment metadata on ``@jobframe.job(...)``: defaults right for most jobs, and values that
cannot work refused when the app is imported, not on the cluster."""

from __future__ import annotations

from typing import Any

import pytest

import jobframe
from jobframe._app.deployment import NEVER_RETRIED, RETRYABLE, Deployment, PodResources, Retry, Volume
from jobframe._app.spec import JobSpec, spec_for
from jobframe.deadline import Budget


def _spec(**options: Any) -> JobSpec:
    @jobframe.job(**options)
    class Job:
        def execute(self) -> None:
            return None

    return spec_for(Job)


def test_the_defaults() -> None:
    plain = spec_for(type("Plain", (), {"execute": lambda self: None}))
    for spec in (plain, _spec()):
        d = spec.deployment
        assert d.timeout == 3600
        assert d.retry == Retry(limit=3, on=(75, 124, 137, 143), backoff=30, factor=2, max_backoff=600)
        assert d.retry.max_duration is None
        assert d.resources == PodResources(cpu="100m", memory="256Mi")
        assert (d.schedule, d.shardable, d.shards, d.parallelism) == (None, False, 4, None)
        assert (d.env, d.volumes, d.args) == ({}, (), ())


def test_retryable_and_never_retried_codes_are_the_documented_ones() -> None:
    assert RETRYABLE == (75, 124, 137, 143)
    assert NEVER_RETRIED == (0, 1, 2, 78)


def test_everything_is_declared_on_the_job() -> None:
    spec = _spec(
        name="nightly",
        min_seconds=60,
        timeout=900,
        retry=jobframe.Retry(limit=1, on=(143, 75), backoff=5, max_duration=2000),
        resources=jobframe.PodResources(cpu="2", memory="1Gi"),
        schedule="0 2 * * *",
        timezone="Europe/Paris",
        shardable=True,
        shards=8,
        parallelism=3,
        env={"BRAZE__MAX_CONCURRENCY": "4"},
        volumes=(jobframe.Volume("input", "/data"),),
        args=("--shutdown-timeout", "20"),
    )
    assert spec.name == "nightly" and spec.min_seconds == 60
    d = spec.deployment
    assert d.retry.on == (75, 143)  # sorted, deduplicated
    assert (d.timeout, d.schedule, d.timezone, d.shards, d.parallelism) == (
        900,
        "0 2 * * *",
        "Europe/Paris",
        8,
        3,
    )
    assert d.env == {"BRAZE__MAX_CONCURRENCY": "4"} and d.volumes == (Volume("input", "/data"),)
    assert d.args == ("--shutdown-timeout", "20")


@pytest.mark.parametrize("code", NEVER_RETRIED)
def test_codes_a_retry_cannot_fix_are_refused(code: int) -> None:
    with pytest.raises(ValueError, match="never retried"):
        Retry(on=(75, code))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"limit": -1}, "limit"),
        ({"limit": True}, "limit"),
        ({"on": (256,)}, "0-255"),
        ({"on": ()}, "limit=0"),
        ({"backoff": -1}, "backoff"),
        ({"factor": 0}, "factor"),
        ({"factor": 1.5}, "factor"),
        ({"max_backoff": 0}, "max_backoff"),
        ({"max_duration": float("inf")}, "max_duration"),
    ],
)
def test_retry_refuses_what_argo_cannot_do(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Retry(**options)


def test_no_retries_needs_no_codes() -> None:
    assert Retry(limit=0, on=()).limit == 0


def test_retry_waits_grow_by_the_factor_up_to_the_cap() -> None:
    retry = Retry(backoff=10, factor=3, max_backoff=100)
    assert [retry.wait(n) for n in (1, 2, 3, 4)] == [10, 30, 90, 100]
    assert Retry(backoff=10, factor=2, max_backoff=None).wait(5) == 160


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": 10}, "less than an attempt needs"),  # 10 < margin 10 + teardown 5
        ({"timeout": 100, "min_seconds": 90}, "min_seconds 90"),
        ({"min_seconds": -1}, "min_seconds"),
        ({"schedule": "every day"}, "cron"),
        ({"schedule": "0 2 * *"}, "cron"),
        ({"shards": 0}, "shards"),
        ({"parallelism": 0}, "parallelism"),
    ],
)
def test_a_job_that_cannot_deploy_fails_at_import(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _spec(**options)


@pytest.mark.parametrize(("cpu", "memory"), [("a lot", "1Gi"), ("1", "1 GB"), ("", "1Gi"), ("1", "-1Mi")])
def test_resources_must_be_kubernetes_quantities(cpu: str, memory: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        PodResources(cpu=cpu, memory=memory)


def test_the_shortest_timeout_allowed_is_what_an_attempt_needs() -> None:
    needs = Budget().attempt_needs(30)
    assert _spec(min_seconds=30, timeout=needs).deployment.timeout == needs
    with pytest.raises(ValueError):
        _spec(min_seconds=30, timeout=needs - 0.5)


def test_schedules() -> None:
    assert _spec(schedule="@daily").deployment.schedule == "@daily"
    assert Deployment(schedule="*/15 * * * 1-5").schedule == "*/15 * * * 1-5"


@pytest.mark.parametrize(("claim", "path"), [("Bad_Name", "/data"), ("ok", "relative")])
def test_volumes_refuse_what_kubernetes_refuses(claim: str, path: str) -> None:
    with pytest.raises(ValueError, match="volume"):
        Volume(claim, path)
