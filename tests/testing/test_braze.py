"""The fake_braze fixture in a user's project: the user's BrazeModule talks to the shared fake."""

from __future__ import annotations

import pytest

from .conftest import run_pytest


def test_fake_braze_records_requests_and_injects_failures(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_notify="""
        from jobframe import ExitCode

        def test_requests_are_recorded(jobframe_run, fake_braze):
            result = jobframe_run("Notify", {"users": ["ada", "bob"]})
            assert result.result == 2
            (send,) = fake_braze.requests_to("/messages/send")
            assert send.json["external_user_ids"] == ["ada", "bob"]
            assert result.resources_closed == ["braze.client"]

        def test_failures_are_programmable(jobframe_run, fake_braze):
            fake_braze.fail_next("/messages/send", status=503)
            assert jobframe_run("Notify", {"users": ["ada"]}).exit_code is ExitCode.RETRYABLE

        def test_each_test_gets_a_fresh_fake(fake_braze):
            assert list(fake_braze.requests) == []
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=3)
