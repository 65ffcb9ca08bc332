from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.observe.gateway import pushgateway


@pytest.fixture
def gateway() -> Iterator[str]:
    """A real Pushgateway of this test's own (fresh state, free port, temp persistence file)."""
    with pushgateway() as url:
        yield url
