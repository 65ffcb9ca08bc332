"""Fast in-process checks of the pieces the process-level tests rely on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from dependency_injector import containers, providers
from pydantic import BaseModel

from jobframe import ExitCode
from jobframe._app.params import parse_params, split_pairs
from jobframe._app.spec import spec_for
from jobframe.deadline import Budget, Schedule, effective_deadline, parse_rfc3339
from jobframe.embed import App, RunOptions
from jobframe.embed import run as run_job
from jobframe.errors import UsageError
from jobframe.logs import MASK, Redact


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("Authorization", True),
        ("X-Api-Key", True),
        ("braze_api_key", True),
        ("accessToken", True),
        ("client_secret", True),
        ("db_password", True),
        ("set-cookie", True),
        ("dbpassword", True),
        ("api_keys", True),
        ("XApiKey", True),
        ("HTTPToken", True),
        ("cookies", True),
        ("tokens_used", False),
        ("maxTokens", False),
        ("user", False),
    ],
)
def test_redact_matches_sensitive_keys_but_not_counters(key: str, sensitive: bool) -> None:
    assert Redact().is_sensitive(key) is sensitive


def test_redact_scrubs_known_secret_values_anywhere_without_mutating() -> None:
    redact = Redact()
    redact.add_secrets(["s3cr3t-value", "ab"])  # "ab" is too short to scrub safely
    event = {"url": "https://x/?k=s3cr3t-value", "nested": [{"msg": "bad s3cr3t-value"}], "other": "ab"}
    scrubbed = redact.scrub(event)
    assert scrubbed == {"url": f"https://x/?k={MASK}", "nested": [{"msg": f"bad {MASK}"}], "other": "ab"}
    assert event["url"].endswith("s3cr3t-value"), "the caller's dict is not changed"


def test_rfc3339_and_argo_zero_time() -> None:
    assert parse_rfc3339("0001-01-01T00:00:00Z") is None
    assert parse_rfc3339("2026-08-21T14:00:00Z") == datetime(2026, 8, 21, 14, tzinfo=UTC)
    assert parse_rfc3339("2026-08-21T16:00:00+02:00") == datetime(2026, 8, 21, 14, tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        parse_rfc3339("2026-08-21T14:00:00")


def test_earliest_deadline_wins() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    chosen = effective_deadline(
        now=now, timeout=60, deadline=now + timedelta(seconds=30), argo_deadline=now + timedelta(seconds=90)
    )
    assert chosen is not None and chosen.source == "--deadline"
    assert effective_deadline(now=now) is None


class _Params(BaseModel):
    count: int = 1
    tags: list[str] = []


class _Job:
    """First line.

    More text.
    """

    def execute(self, params: _Params) -> None:
        pass


def test_job_spec_is_read_from_the_class() -> None:
    spec = spec_for(_Job)
    assert (spec.name, spec.description, spec.params_model, spec.is_async) == (
        "_Job",
        "First line.",
        _Params,
        False,
    )


def test_params_parse_and_fail_clearly() -> None:
    spec = spec_for(_Job)
    parsed = parse_params(spec, split_pairs(["count=3", "tags=a"]))
    assert parsed == _Params(count=3, tags=["a"])
    assert parse_params(spec, split_pairs(["tags=a", "tags=b"])) == _Params(tags=["a", "b"])
    assert parse_params(spec, split_pairs(['tags=["x","y"]'])) == _Params(tags=["x", "y"])
    with pytest.raises(UsageError, match="did you mean 'count'"):
        parse_params(spec, split_pairs(["cout=3"]))
    with pytest.raises(UsageError, match="count: Input should be a valid integer"):
        parse_params(spec, split_pairs(["count=x"]))


class _ExitsCleanly:
    """Calls sys.exit(0)."""

    def __init__(self, res: str) -> None:
        pass

    def execute(self) -> None:
        raise SystemExit(0)


class _ExitsDirty:
    """Calls sys.exit(3) from an async job."""

    def __init__(self, res: str) -> None:
        pass

    async def execute(self) -> None:
        raise SystemExit(3)


class _ChildExits:
    """Awaits a child task that calls sys.exit(3)."""

    def __init__(self, res: str) -> None:
        pass

    async def execute(self) -> None:
        async def child() -> None:
            raise SystemExit(3)

        await asyncio.gather(asyncio.create_task(child()))


class _Interrupted:
    """Raises KeyboardInterrupt inside an async job."""

    def __init__(self, res: str) -> None:
        pass

    async def execute(self) -> None:
        raise KeyboardInterrupt


_closed: list[str] = []


def _resource() -> Iterator[str]:
    try:
        yield "res"
    finally:
        _closed.append("res")


class _Exits(containers.DeclarativeContainer):
    res = providers.Resource(_resource)
    clean = providers.Factory(_ExitsCleanly, res=res)
    dirty = providers.Factory(_ExitsDirty, res=res)
    interrupted = providers.Factory(_Interrupted, res=res)
    child_exits = providers.Factory(_ChildExits, res=res)


@pytest.mark.parametrize(
    ("job", "code"),
    [
        ("_ExitsCleanly", ExitCode.SUCCEEDED),
        ("_ExitsDirty", ExitCode.FAILED),
        ("_Interrupted", ExitCode.SIGINT),
        ("_ChildExits", ExitCode.FAILED),
    ],
)
def test_sys_exit_and_ctrl_c_inside_jobs_map_to_the_contract_and_keep_teardown(
    job: str, code: ExitCode
) -> None:
    # asyncio re-raises SystemExit/KeyboardInterrupt out of the loop: teardown must still run.
    _closed.clear()
    result = run_job(App.from_container(_Exits), job, options=RunOptions(handle_signals=False))
    assert result.exit_code is code
    assert _closed == ["res"]


@pytest.mark.parametrize(
    ("left", "margin", "shutdown", "expected"),
    [
        (3600.0, 10.0, 5.0, 3590.0),  # plenty of time: the full margin
        (20.0, 10.0, 5.0, 15.0),  # a quarter of the time left, which also covers teardown
        (12.0, 10.0, 5.0, 7.0),  # the teardown budget wins over the quarter (3 s)
        (3.0, 10.0, 5.0, 1.5),  # teardown capped at half the time left
        (0.0, 10.0, 5.0, 0.0),  # nothing left: cancel now
    ],
)
def test_deadline_margin_shrinks_for_short_deadlines(
    left: float, margin: float, shutdown: float, expected: float
) -> None:
    schedule = Schedule(left, Budget(deadline_margin=margin, shutdown_timeout=shutdown))
    assert schedule.cancel_at == pytest.approx(expected)


class _TagParams(BaseModel):
    tag: str | list[str] = "x"
    tags: list[str] | None = None


class _Tags:
    """Tags."""

    def execute(self, params: _TagParams) -> None:
        pass


def test_list_param_unions_with_str_keep_a_single_str() -> None:
    parsed = parse_params(spec_for(_Tags), {"tag": "solo", "tags": "one"})
    assert parsed == _TagParams(tag="solo", tags=["one"])
