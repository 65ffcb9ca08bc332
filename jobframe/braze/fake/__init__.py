"""An in-package fake of the Braze REST API for tests, demos and offline runs.

* :class:`FakeBraze` — the application (state, rules, fault injection).
* :class:`FakeTransport` — the fake as an ``httpx`` transport (``base_url="fake://braze"``).
* :class:`FakeBrazeServer` — the fake on a loopback socket; ``python -m jobframe.braze.fake``.
"""

from jobframe.braze.fake.app import FakeBraze, FakeResponse, RecordedRequest
from jobframe.braze.fake.server import FakeBrazeServer
from jobframe.braze.fake.transport import FakeTransport

__all__ = ["FakeBraze", "FakeBrazeServer", "FakeResponse", "FakeTransport", "RecordedRequest"]
