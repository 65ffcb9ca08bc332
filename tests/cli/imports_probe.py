"""Apps for tests/cli/test_lazy_imports.py: which modules a real run loaded, seen as it ends.

Loading this module makes ``os._exit`` — the way every jobframe process ends — first write one
line to stderr: ``imports-probe {"loaded": [...]}``, the watched modules found in ``sys.modules``
after the run, the report and the exit hooks. ``Trivial`` is the smallest app (it imports httpx
like a real one); ``Default`` is the default app (``SomeJob``).
"""

from __future__ import annotations

import gc
import json
import os
import sys

import httpx  # noqa: F401 - a real app loads it
from dependency_injector import containers, providers

MARK = "imports-probe "

WATCHED = (
    "prometheus_client",
    "jobframe.observe.pushgateway",
    "opentelemetry",
    "sqlite3",
    "psycopg",
    "jobframe.ledger",
    "jobframe.ledger.store",
    "jobframe.ledger.writer",
    "jobframe.ledger.fanout",
    "jobframe.braze",
    "jobframe.argo",
    "jobframe.scaffold",
    "jobframe.testing",
    "difflib",
    "http.server",
    "wsgiref",
)

_exit = os._exit


def _report_then_exit(code: int) -> None:
    loaded = sorted(name for name in WATCHED if name in sys.modules)
    os.write(2, (MARK + json.dumps({"loaded": loaded}) + "\n").encode())
    _exit(code)


os._exit = _report_then_exit


class Noop:
    """Does nothing; says how the cyclic garbage collector stands while a job runs."""

    def execute(self) -> dict[str, object]:
        return {"gc_enabled": gc.isenabled(), "gc_frozen": gc.get_freeze_count()}


class Trivial(containers.DeclarativeContainer):
    noop = providers.Factory(Noop)


def _default() -> type[containers.DeclarativeContainer]:
    from jobs.container import MainContainer  # noqa: PLC0415 - only the default app's tests load it

    return MainContainer


def __getattr__(name: str) -> object:
    if name == "Default":
        return _default()
    raise AttributeError(name)
