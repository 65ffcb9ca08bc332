"""Wire the Braze engineer's in-process fake into a container, in place of the real clients.

The fake itself lives in :mod:`jobframe.braze.fake` (one implementation for the clients' tests,
the loopback server and these fixtures). This module only swaps the ``client`` and ``async_client``
resources of every :class:`~jobframe.braze.BrazeModule` for ones whose transport is the fake, so a
test can program failures and read the recorded requests of the very fake its job talked to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from dependency_injector import containers

from jobframe.braze import FAKE_URL, AsyncBrazeClient, BrazeClient, BrazeModule, BrazeSettings
from jobframe.braze.fake import FakeBraze
from jobframe.testing.overrides import Overrides, modules_of, override_module_resources

__all__ = ["braze_modules", "use_fake_braze"]


def _on_fake(settings: BrazeSettings) -> BrazeSettings:
    # Without a key a real base_url would be a configuration error; the fake accepts any key, so
    # only the URL changes and every other setting (retries, batch sizes) is the test's own.
    return settings if settings.api_key is not None else settings.model_copy(update={"base_url": FAKE_URL})


def fake_braze_client(settings: BrazeSettings, fake: FakeBraze) -> Iterator[BrazeClient]:
    """Resource: a real :class:`BrazeClient` whose HTTP goes to ``fake``; closed on teardown."""
    client = BrazeClient.from_settings(_on_fake(settings), transport=fake.transport())
    try:
        yield client
    finally:
        client.close()


async def fake_async_braze_client(
    settings: BrazeSettings, fake: FakeBraze
) -> AsyncIterator[AsyncBrazeClient]:
    """Resource: a real :class:`AsyncBrazeClient` whose HTTP goes to ``fake``; closed on teardown."""
    client = AsyncBrazeClient.from_settings(_on_fake(settings), transport=fake.transport())
    try:
        yield client
    finally:
        await client.aclose()


def braze_modules(container: containers.Container) -> list[str]:
    """Names of the :class:`BrazeModule` providers declared on ``container`` (usually ``["braze"]``)."""
    return modules_of(container, BrazeModule)


def use_fake_braze(
    container: containers.Container, fake: FakeBraze, *, module: str | None = None
) -> Overrides:
    """Point the Braze clients of ``container`` at ``fake``; returns the :class:`Overrides` to undo.

    ``module`` names the ``BrazeModule`` provider; by default every one found on the container.
    The clients are the real ones (batching, retries, rate limiting, redaction all run), only
    the transport is fake, so a test exercises what production runs.
    """
    resources = {"client": fake_braze_client, "async_client": fake_async_braze_client}
    return override_module_resources(container, BrazeModule, module, resources, fake=fake)
