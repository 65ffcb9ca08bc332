"""Run ledgers: a retried bulk job continues where the last attempt stopped (docs/resume.md).

``LedgerModule`` provides the run's :class:`RunLedger` (SQLite by default, PostgreSQL with
``jobframe[postgres]``); the Braze clients' bulk calls record every batch in it when given one.
"""

from jobframe.ledger.ledger import DISABLED, Journal, RunLedger
from jobframe.ledger.module import LedgerModule, open_ledger
from jobframe.ledger.policy import BatchState, Decision
from jobframe.ledger.settings import LedgerSettings

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
