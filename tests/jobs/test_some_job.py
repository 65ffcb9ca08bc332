"""SomeJob: list campaigns, then push to the given users — against the in-process fake Braze."""

from __future__ import annotations

from jobframe import ExitCode
from jobframe.braze import BrazeServerDuplicatePossibleError
from jobframe.braze.fake import FakeBraze
from jobframe.testing.plugin import JobRunner


def test_lists_campaigns_and_pushes_to_every_user(jobframe_run: JobRunner, jobframe_braze: FakeBraze) -> None:
    jobframe_braze.seed_campaigns(4)
    result = jobframe_run("SomeJob", {"users": ["ada", "bob"], "title": "Hi", "max_campaigns": 3})

    assert result.exit_code is ExitCode.SUCCEEDED
    assert result.result["campaigns"] == 3
    assert result.result["recipients"] == 2
    (send,) = jobframe_braze.requests_to("/messages/send")
    assert send.json["external_user_ids"] == ["ada", "bob"]
    assert send.json["messages"]["apple_push"]["alert"]["title"] == "Hi"
    assert result.event("push.sent")["recipients"] == 2
    assert result.resources_opened == result.resources_closed == ["braze.client"]


def test_defaults_make_a_bare_run_work(jobframe_run: JobRunner, jobframe_braze: FakeBraze) -> None:
    result = jobframe_run("SomeJob")
    assert result.succeeded
    assert jobframe_braze.requests_to("/messages/send")[0].json["external_user_ids"] == [
        "user-1",
        "user-2",
        "user-3",
    ]


def test_invalid_params_stop_before_braze_is_contacted(
    jobframe_run: JobRunner, jobframe_braze: FakeBraze
) -> None:
    result = jobframe_run("SomeJob", {"users": [], "max_campaigns": -1})
    assert result.exit_code is ExitCode.USAGE
    assert "users" in str(result.error) and "max_campaigns" in str(result.error)
    assert list(jobframe_braze.requests) == []


def test_a_server_error_on_send_is_retryable_and_not_repeated(
    jobframe_run: JobRunner, jobframe_braze: FakeBraze
) -> None:
    jobframe_braze.fail_next("/messages/send", status=503)
    result = jobframe_run("SomeJob", {"users": ["ada"]})
    assert result.exit_code == 75
    assert isinstance(result.error, BrazeServerDuplicatePossibleError)
    assert len(jobframe_braze.requests_to("/messages/send")) == 1  # a send is never blindly repeated
    assert result.resources_closed == ["braze.client"]
