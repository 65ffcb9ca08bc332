"""Run ledgers: a retried bulk job continues where the last attempt stopped (docs/resume.md).

``LedgerModule`` provides the run's :class:`RunLedger` (SQLite by default, PostgreSQL with
``jobframe[postgres]``); the Braze clients' bulk calls record every batch in it when given one.

The names below are loaded on first use (PEP 562): importing one submodule (the settings, say)
does not load the rest, and the store and sqlite3 are only loaded when a run key opens a ledger.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobframe.ledger.ledger import DISABLED, Journal, RunLedger
    from jobframe.ledger.module import LedgerModule, open_ledger
    from jobframe.ledger.policy import BatchState, Decision
    from jobframe.ledger.settings import LedgerSettings

_EXPORTS = {
    "DISABLED": "jobframe.ledger.ledger",
    "Journal": "jobframe.ledger.ledger",
    "RunLedger": "jobframe.ledger.ledger",
    "LedgerModule": "jobframe.ledger.module",
    "open_ledger": "jobframe.ledger.module",
    "BatchState": "jobframe.ledger.policy",
    "Decision": "jobframe.ledger.policy",
    "LedgerSettings": "jobframe.ledger.settings",
}

__all__ = [
    "DISABLED",
    "BatchState",
    "Decision",
    "Journal",
    "LedgerModule",
    "LedgerSettings",
    "RunLedger",
    "open_ledger",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
