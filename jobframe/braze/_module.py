"""``BrazeModule``: the DI container that provides Braze clients as resources.

Wire it into an application container with its settings (and, for resumable bulk calls, a run
ledger); jobframe fills the ``settings`` dependency with the loaded settings::

    class Main(containers.DeclarativeContainer):
        settings = providers.Dependency(instance_of=AppSettings)
        braze = providers.Container(BrazeModule, settings=settings.provided.braze)
        send_push = providers.Factory(SendPushFromFile, braze=braze.client)

Clients are ``Resource`` providers (never plain Singletons, which nobody closes): jobframe's
teardown closes them after the job. ``base_url="fake://braze"`` gives clients on the in-process
fake. The testing toolkit reuses the two initialisers with a ``transport`` (the test's fake).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from jobframe.braze._settings import BrazeSettings
from jobframe.ledger.ledger import DISABLED, RunLedger
from jobframe.observe.observer import Observer

if TYPE_CHECKING:
    import httpx

    from jobframe.braze._async import AsyncBrazeClient
    from jobframe.braze._sync import BrazeClient

__all__ = ["BrazeModule", "async_braze_client", "braze_client"]


def braze_client(
    settings: BrazeSettings,
    transport: httpx.BaseTransport | None = None,
    ledger: RunLedger | None = None,
    observer: Observer | None = None,
) -> Iterator[BrazeClient]:
    """Resource initialiser: a :class:`BrazeClient`, closed on teardown."""
    from jobframe.braze._sync import BrazeClient  # noqa: PLC0415 - loaded when first provided

    client = BrazeClient.from_settings(settings, transport=transport, ledger=ledger, observer=observer)
    try:
        yield client
    finally:
        client.close()


async def async_braze_client(
    settings: BrazeSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    ledger: RunLedger | None = None,
    observer: Observer | None = None,
) -> AsyncIterator[AsyncBrazeClient]:
    """Resource initialiser: an :class:`AsyncBrazeClient`, closed on teardown."""
    from jobframe.braze._async import AsyncBrazeClient  # noqa: PLC0415 - loaded when first provided

    client = AsyncBrazeClient.from_settings(settings, transport=transport, ledger=ledger, observer=observer)
    try:
        yield client
    finally:
        await client.aclose()


class BrazeModule(containers.DeclarativeContainer):
    """Provides ``client`` (sync) and ``async_client`` for one Braze workspace.

    ``ledger`` (optional) is the run ledger its bulk calls record into, so a retried run resumes:
    ``providers.Container(BrazeModule, settings=..., ledger=ledger.ledger)`` with a
    :class:`~jobframe.ledger.LedgerModule` (docs/resume.md). Without it nothing is recorded.
    ``observer`` is filled by jobframe with the run's :class:`~jobframe.observe.Observer` (what
    the clients count is pushed with ``--pushgateway`` and traced: docs/observability.md); its
    bulk calls report their progress through it too, to the run's ``Progress`` and no other.
    """

    settings = providers.Dependency(instance_of=BrazeSettings)
    ledger = providers.Dependency(instance_of=RunLedger, default=DISABLED)
    observer = providers.Dependency(instance_of=Observer, default=providers.Factory(Observer))
    client = providers.Resource(braze_client, settings=settings, ledger=ledger, observer=observer)
    async_client = providers.Resource(async_braze_client, settings=settings, ledger=ledger, observer=observer)
