"""A second app with its own network module, wired wrong in one way per container.

Written the way a new user writes one from the docs: a ``QuotesModule`` built on jobframe's HTTP
client, a ``QuoteService`` on top, a job that needs the service. Each ``*Container`` below holds
exactly one fault; ``Good`` holds none. The tests run every container through ``--check`` and
through a run, on real processes (``tests/app/test_wiring.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
from dependency_injector import containers, providers
from pydantic import BaseModel, ConfigDict, Field

import jobframe
from jobframe.http import HttpSettings, sync_client


def _opened(name: str) -> None:
    """Note that a resource opened, in the file QUOTES_OPENED_LOG names (the tests set it)."""
    path = os.environ.get("QUOTES_OPENED_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(name + "\n")


class QuoteSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    http: HttpSettings = Field(default_factory=HttpSettings)
    symbol: str = "ACME"


class QuotesAppSettings(jobframe.Settings):
    quotes: QuoteSettings = Field(default_factory=QuoteSettings)


class QuoteService:
    """Prices from the quotes service."""

    def __init__(self, http: httpx.Client, symbol: str) -> None:
        self._http, self._symbol = http, symbol

    def price(self) -> float:
        return float(self._http.get(f"/price/{self._symbol}").json()["price"])


def quotes_client(settings: HttpSettings) -> Iterator[httpx.Client]:
    """Resource: the module's client; records that it opened."""
    _opened("quotes.client")
    with sync_client(settings) as client:
        yield client


class QuotesModule(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=QuoteSettings)
    http_settings = settings.provided.http
    client = providers.Resource(quotes_client, settings=http_settings)
    service = providers.Factory(QuoteService, http=client, symbol=settings.provided.symbol)


class FetchQuote:
    """Fetch one price."""

    def __init__(self, quotes: QuoteService) -> None:
        self._quotes = quotes

    def execute(self) -> dict[str, float]:
        return {"price": self._quotes.price()}


class _Base(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=QuotesAppSettings)
    run = providers.Dependency(instance_of=jobframe.RunContext)


class Good(_Base):
    quotes_network = providers.Container(QuotesModule, settings=_Base.settings.provided.quotes)
    fetch_quote = providers.Factory(FetchQuote, quotes=quotes_network.service)


class SettingsTypo(_Base):
    """Fault 1: a settings path typo."""

    quotes_network = providers.Container(QuotesModule, settings=_Base.settings.provided.quotez)
    fetch_quote = providers.Factory(FetchQuote, quotes=quotes_network.service)


class WrongType(_Base):
    """Fault 2: the module's httpx.Client where the job wants a QuoteService."""

    quotes_network = providers.Container(QuotesModule, settings=_Base.settings.provided.quotes)
    fetch_quote = providers.Factory(FetchQuote, quotes=quotes_network.client)


class UnexpectedKeyword(_Base):
    """Fault 3: a misspelt keyword (``quote`` for ``quotes``)."""

    quotes_network = providers.Container(QuotesModule, settings=_Base.settings.provided.quotes)
    fetch_quote = providers.Factory(FetchQuote, quote=quotes_network.service)


class NoJobs(_Base):
    """Fault 5: a container that exposes no job (the job is a Callable, not a Factory)."""

    quotes_network = providers.Container(QuotesModule, settings=_Base.settings.provided.quotes)
    fetch_quote = providers.Callable(FetchQuote, quotes=quotes_network.service)


class WrongInstanceOf(_Base):
    """A Dependency(instance_of=...) of another type than the constructor asks for."""

    service = providers.Dependency(instance_of=QuoteSettings)
    fetch_quote = providers.Factory(FetchQuote, quotes=service)


class NoBaseUrl(_Base):
    """A wired network module whose base URL is empty (the app's config leaves it unset)."""

    quotes_network = providers.Container(QuotesModule, settings=_Base.settings.provided.quotes)
    fetch_quote = providers.Factory(FetchQuote, quotes=quotes_network.service)


def _broken_service(http: httpx.Client) -> QuoteService:
    raise LookupError("no quote service configured for this region")


class FailsWhileBuilding(_Base):
    """Fault 6: a failure only a build can see (a factory function raising): the client opens
    first, then building fails before execute — 78, and the client is closed."""

    quotes_network = providers.Container(QuotesModule, settings=_Base.settings.provided.quotes)
    service = providers.Factory(_broken_service, http=quotes_network.client)
    fetch_quote = providers.Factory(FetchQuote, quotes=service)
