"""``SomeJob``: the example that runs out of the box (offline, against the in-process fake Braze)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

import jobframe
from jobframe import RunContext, get_logger
from jobframe.braze import BrazeClient

__all__ = ["SomeJob", "SomeJobParams"]

_log = get_logger(__name__)


ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A Braze external user id: never empty (``--param users=`` is an error, not a push to "")."""


class SomeJobParams(BaseModel):
    """``--param users=alice --param users=bob --param title=Hi``; defaults make a bare run work."""

    users: list[ExternalId] = Field(default_factory=lambda: ["user-1", "user-2", "user-3"], min_length=1)
    title: str = Field("Hello from jobframe", min_length=1)
    body: str = Field("Your batch job ran.", min_length=1)
    max_campaigns: int = Field(100, ge=0, description="How many campaigns to list at most.")


# A push repeats for everyone already reached when the job runs again, and this job does not go
# through the run ledger: never retried (docs/argo.md, "Exit codes and retries").
@jobframe.job(retry=jobframe.Retry(limit=0))
class SomeJob:
    """List recent campaigns, then send a push notification to the given users."""

    def __init__(self, braze: BrazeClient, run: RunContext) -> None:
        self._braze = braze
        self._run = run

    def execute(self, params: SomeJobParams) -> dict[str, object]:
        campaigns = []
        for campaign in self._braze.iter_campaigns():
            if len(campaigns) >= params.max_campaigns:
                break
            campaigns.append(campaign.name)
        _log.info("campaigns.listed", count=len(campaigns))
        self._run.progress.update(1, 2)
        push = {"alert": {"title": params.title, "body": params.body}}
        sent = self._braze.send_message(
            {"apple_push": push, "android_push": {"title": params.title, "alert": params.body}},
            external_user_ids=params.users,
        )
        _log.info("push.sent", recipients=sent.recipients, dispatch_ids=sent.dispatch_ids)
        self._run.progress.update(2, 2)
        return {"campaigns": len(campaigns), "recipients": sent.recipients, "dispatch_ids": sent.dispatch_ids}
