"""Wire the in-process fake Braze into a container, in place of the real clients.

The fake itself lives in :mod:`jobframe.braze.fake` (one implementation for the clients' tests,
the loopback server and these fixtures). This module only swaps the ``client`` and ``async_client``
resources of every :class:`~jobframe.braze.BrazeModule` for ones whose transport is the fake, so a
test can program failures and read the recorded requests of the very fake its job talked to.
"""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from jobframe._app.graph import modules_of
from jobframe.braze import FAKE_URL, BrazeModule, BrazeSettings
from jobframe.braze._module import async_braze_client, braze_client
from jobframe.braze.fake import FakeBraze
from jobframe.testing._overrides import Overrides

__all__ = ["braze_modules", "use_fake_braze"]


def _on_fake(settings: BrazeSettings) -> BrazeSettings:
    # Without a key a real base_url would be a configuration error; the fake accepts any key, so
    # only the URL changes and every other setting (retries, batch sizes) is the test's own.
    return settings if settings.api_key is not None else settings.model_copy(update={"base_url": FAKE_URL})


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
    names = [module] if module is not None else braze_modules(container)
    if not names:
        raise LookupError(f"{type(container).__name__} has no BrazeModule provider to point at the fake")
    wiring: dict[str, Any] = {}
    for name in names:
        module_ = getattr(container, name)
        settings = providers.Callable(_on_fake, module_.settings)
        transport = providers.Factory(fake.transport)  # one per client, like a connection pool
        wiring[f"{name}__client"] = providers.Resource(
            braze_client,
            settings=settings,
            transport=transport,
            ledger=module_.ledger,
            observer=module_.observer,
        )
        wiring[f"{name}__async_client"] = providers.Resource(
            async_braze_client,
            settings=settings,
            transport=transport,
            ledger=module_.ledger,
            observer=module_.observer,
        )
    return Overrides(container, wiring)
