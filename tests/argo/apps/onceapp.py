"""A test app with a resumable job that Argo never retries (``Retry(limit=0)``): its step has no
``retryStrategy``, so Argo gives it no ``{{retries}}``."""

from __future__ import annotations

from dependency_injector import containers, providers
from pydantic import Field

import jobframe
from jobframe.ledger import LedgerModule, LedgerSettings


class OnceSettings(jobframe.Settings):
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)


@jobframe.job(resumable=True, retry=jobframe.Retry(limit=0))
class Once:
    """Resumable through the ledger, but never retried by Argo."""

    def execute(self) -> dict[str, str]:
        return {"ran": "once"}


class OnceApp(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=OnceSettings)
    run = providers.Dependency(instance_of=jobframe.RunContext)

    ledger = providers.Container(LedgerModule, settings=settings.provided.ledger, run=run)
    once = providers.Factory(Once)
