"""The default app's main container: modules wired together, and every job it exposes.

The equivalent of a Dagger ``MainComponent``: modules (``NetworkModule``, ``BrazeModule``) are
nested containers configured from the settings tree, and each job is a ``Factory`` whose
arguments name what the job's constructor needs.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from jobframe import RunContext
from jobframe.braze import BrazeModule
from jobframe.http import NetworkModule
from jobframe.ledger import LedgerModule
from jobs.braze_attributes import UpdateUserAttributes
from jobs.braze_push import SendPushFromFile
from jobs.braze_stats import CollectCampaignStats
from jobs.settings import AppSettings
from jobs.sleep import Sleep
from jobs.some_job import SomeJob

__all__ = ["MainContainer"]


class MainContainer(containers.DeclarativeContainer):
    """Jobs of the default app; ``python -m jobframe --list`` shows them."""

    settings = providers.Dependency(instance_of=AppSettings)
    run = providers.Dependency(instance_of=RunContext)

    network = providers.Container(NetworkModule, settings=settings.provided.http)
    ledger = providers.Container(LedgerModule, settings=settings.provided.ledger, run=run)
    braze = providers.Container(BrazeModule, settings=settings.provided.braze, ledger=ledger.ledger)

    some_job = providers.Factory(SomeJob, braze=braze.client, run=run)
    sleep = providers.Factory(Sleep, http=network.client, run=run)
    send_push_from_file = providers.Factory(SendPushFromFile, braze=braze.client, run=run)
    update_user_attributes = providers.Factory(UpdateUserAttributes, braze=braze.async_client, run=run)
    collect_campaign_stats = providers.Factory(CollectCampaignStats, braze=braze.client)
