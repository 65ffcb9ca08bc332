"""The default app's settings: one typed tree, loaded from ``config/`` and the environment."""

from __future__ import annotations

from pydantic import Field

from jobframe import Settings
from jobframe.braze import BrazeSettings
from jobframe.http import HttpSettings
from jobframe.ledger import LedgerSettings

__all__ = ["AppSettings"]


class AppSettings(Settings):
    """``braze`` configures the Braze clients; ``http`` the general-purpose HTTP clients; ``ledger``
    where resumable runs (``--run-key``) record their bulk calls."""

    braze: BrazeSettings
    http: HttpSettings = Field(default_factory=HttpSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
