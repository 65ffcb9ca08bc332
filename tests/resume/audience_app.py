"""An app whose job sends one request to a whole audience: a segment, everyone, an audience filter.

Such a send names no users, so it is one request, not batches of ids — and it reaches the most
people. ``AUDIENCE_FAIL_ONCE`` names a file: when it does not exist yet, the job creates it after
its send and fails retryably (75), as a job whose later step fails would; its retry, with the
same parameters and run key, must not send again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from dependency_injector import containers, providers
from pydantic import BaseModel

import jobframe
from jobframe.braze import BrazeClient, BrazeModule, Messages
from jobframe.errors import RetryableError
from jobframe.ledger import LedgerModule
from jobs.settings import AppSettings

__all__ = ["AudienceSend", "Main"]

Kind = Literal["segment", "broadcast", "audience", "campaign_broadcast", "canvas_audience"]
GOLD = {"custom_attribute_name": "tier", "comparison": "equals", "value": "gold"}
AUDIENCE = {"AND": [{"custom_attribute": GOLD}]}


class AudienceParams(BaseModel):
    kind: Kind
    users: int = 0
    """First send the push to this many listed users (``user-0``…): a run that reaches both kinds."""


@jobframe.job(resumable=True)
class AudienceSend:
    """One send to an audience Braze resolves (no ids listed), maybe after a send to listed users,
    then maybe a retryable failure."""

    def __init__(self, braze: BrazeClient) -> None:
        self._braze = braze

    def execute(self, params: AudienceParams) -> dict[str, str]:
        push = Messages(apple_push={"alert": "once"})
        if params.users:
            self._braze.send_message(push, external_user_ids=[f"user-{i}" for i in range(params.users)])
        if params.kind == "segment":
            self._braze.send_message(push, segment_id="segment-1")
        elif params.kind == "broadcast":
            self._braze.send_message(push, broadcast=True)
        elif params.kind == "audience":
            self._braze.send_message(push, audience=AUDIENCE)
        elif params.kind == "campaign_broadcast":
            self._braze.trigger_campaign("campaign-1", broadcast=True)
        else:
            self._braze.trigger_canvas("canvas-1", audience=AUDIENCE)
        flag = os.environ.get("AUDIENCE_FAIL_ONCE")
        if flag and not Path(flag).exists():
            Path(flag).touch()
            raise RetryableError("a later step failed after the send")
        return {"sent": params.kind}


class Main(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AppSettings)
    run = providers.Dependency(instance_of=jobframe.RunContext)
    ledger = providers.Container(LedgerModule, settings=settings.provided.ledger, run=run)
    braze = providers.Container(BrazeModule, settings=settings.provided.braze, ledger=ledger.ledger)
    audience_send = providers.Factory(AudienceSend, braze=braze.client)
