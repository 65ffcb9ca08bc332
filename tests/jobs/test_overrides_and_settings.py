"""The documented override recipes, on the default app's jobs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from jobframe.braze.fake import FakeBraze
from jobframe.settings import Settings
from jobframe.testing import replace_settings
from jobframe.testing.plugin import JobRunner, Overrider


class StubBraze:
    """Just the two calls SomeJob makes."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []

    def iter_campaigns(self) -> Any:
        return iter(())

    def send_message(self, messages: Any, external_user_ids: Any) -> SimpleNamespace:
        self.sent.append(list(external_user_ids))
        return SimpleNamespace(recipients=len(self.sent[-1]), dispatch_ids=["d-1"])


def test_with_a_stub(jobframe_run: JobRunner, jobframe_override: Overrider) -> None:
    stub = StubBraze()
    jobframe_override(braze__client=stub)

    result = jobframe_run("SomeJob", {"users": ["ada"]})

    assert result.succeeded
    assert stub.sent == [["ada"]]
    assert result.result == {"campaigns": 0, "recipients": 1, "dispatch_ids": ["d-1"]}
    assert result.resources_opened == []  # the real client was never built


def test_small_batches(
    jobframe_run: JobRunner,
    jobframe_override: Overrider,
    jobframe_settings: Settings,
    jobframe_braze: FakeBraze,
    tmp_path: Path,
) -> None:
    jobframe_override(settings=replace_settings(jobframe_settings, braze__batch__recipients=10))
    users = tmp_path / "users.txt"
    users.write_text("\n".join(f"u{i}" for i in range(25)))

    result = jobframe_run("SendPushFromFile", {"path": str(users), "title": "Hi", "body": "x"})

    assert result.result["batches"] == 3
    assert len(jobframe_braze.requests_to("/messages/send")) == 3


def test_key_never_logged(
    jobframe_run: JobRunner,
    jobframe_override: Overrider,
    jobframe_settings: Settings,
    jobframe_braze: FakeBraze,
) -> None:
    jobframe_override(settings=replace_settings(jobframe_settings, braze__api_key="k-123456"))
    result = jobframe_run("SomeJob")
    assert result.succeeded
    assert "k-123456" not in repr(result.logs)
