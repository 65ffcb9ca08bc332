"""The chaos matrix, sampled: trouble around a resumable run never sends anything twice.

Every fault of ``chaos.FAULTS`` is tried here on one store and one job (alternating), so each
fault and each job runs in CI on both stores across the sample — a few minutes in all. The whole
matrix (every fault x both jobs x both stores) is ``benchmarks/resume_chaos.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .chaos import FAULTS, PostgresStore, SqliteStore, Store, applies, check, run_trial
from .pg import PostgresServer, find_bindir

pytestmark = pytest.mark.process


@pytest.fixture(scope="module")
def chaos_server() -> Iterator[PostgresServer]:
    """A server of this module's own: one trial stops it, which no other test must notice."""
    if find_bindir() is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does)")
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


def _sample() -> list[tuple[str, str, str]]:
    cases = []
    for number, fault in enumerate(FAULTS):
        for store in ("sqlite", "postgres"):
            if applies(fault, store):
                job = ("send", "increment")[(number + (store == "postgres")) % 2]
                cases.append((fault, job, store))
    return cases


@pytest.mark.parametrize(("fault", "job", "store_kind"), _sample())
def test_chaos(fault: str, job: str, store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store: Store
    if store_kind == "sqlite":
        store = SqliteStore(tmp_path)
    else:
        server = request.getfixturevalue("chaos_server")
        store = PostgresStore(server, f"c{abs(hash(request.node.nodeid))}")
    check(run_trial(fault, job, store, tmp_path))
