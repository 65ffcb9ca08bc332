"""An in-package fake of the Braze REST API for tests, demos and offline runs.

* :class:`FakeBraze` — the application (state, rules, fault injection).
* :class:`FakeTransport` — the fake as an ``httpx`` transport (``base_url="fake://braze"``).
* :class:`FakeBrazeServer` — the fake on a loopback socket; ``python -m jobframe.braze.fake``.

The server is imported on first use: an offline run (``fake://braze``) needs only the app and
the transport, and ``http.server`` is a noticeable share of a job's startup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobframe.braze.fake.app import FakeBraze, FakeResponse, RecordedRequest
from jobframe.braze.fake.transport import FakeTransport

if TYPE_CHECKING:
    from jobframe.braze.fake.server import FakeBrazeServer

__all__ = ["FakeBraze", "FakeBrazeServer", "FakeResponse", "FakeTransport", "RecordedRequest"]


def __getattr__(name: str) -> Any:
    if name == "FakeBrazeServer":
        from jobframe.braze.fake.server import FakeBrazeServer  # noqa: PLC0415 - see the docstring

        return FakeBrazeServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
