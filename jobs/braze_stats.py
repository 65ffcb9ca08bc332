"""``CollectCampaignStats``: statistics of the most recently edited campaigns, as the job result."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

import jobframe
from jobframe.braze import BrazeClient

__all__ = ["CampaignStatsParams", "CollectCampaignStats"]


class CampaignStatsParams(BaseModel):
    """``--param campaigns=10 --param days=7``."""

    campaigns: int = Field(10, ge=1, le=1000, description="How many recently edited campaigns.")
    days: int = Field(7, ge=1, le=100, description="Days of data series per campaign.")
    include_archived: bool = False


@jobframe.job(schedule="0 6 * * *", timeout=1800)  # every morning, rendered as a CronWorkflow
class CollectCampaignStats:
    """Collect sent/open/conversion totals of recent campaigns and return them as the job result."""

    def __init__(self, braze: BrazeClient) -> None:
        self._braze = braze

    def execute(self, params: CampaignStatsParams) -> dict[str, Any]:
        rows: list[dict[str, Any]] = []
        for campaign in self._braze.iter_campaigns(include_archived=params.include_archived):
            if len(rows) >= params.campaigns:
                break  # stops paging: later pages are never requested
            series = self._braze.campaign_data_series(campaign.id, length=params.days)
            rows.append(
                {
                    "id": campaign.id,
                    "name": campaign.name,
                    "sent": series.total("sent"),
                    "opens": series.total("opens"),
                    "unique_recipients": sum(p.unique_recipients or 0 for p in series.data),
                    "conversions": sum(p.conversions or 0 for p in series.data),
                }
            )
        return {"days": params.days, "campaigns": rows, "total_sent": sum(r["sent"] for r in rows)}
