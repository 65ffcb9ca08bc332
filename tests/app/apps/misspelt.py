"""Fault 4: a misspelt module provider (``clinet``) — the import itself fails."""

from __future__ import annotations

from dependency_injector import providers

from tests.app.apps.quotes import FetchQuote, QuotesModule, _Base


class MisspeltProvider(_Base):
    quotes_network = providers.Container(QuotesModule, settings=_Base.settings.provided.quotes)
    fetch_quote = providers.Factory(FetchQuote, quotes=quotes_network.clinet)  # line 12
