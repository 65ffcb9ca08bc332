"""The run ledger as a resource: ``LedgerModule``, wired like any other module.

Wire it next to the Braze module, whose bulk calls record into it::

    class Main(containers.DeclarativeContainer):
        settings = providers.Dependency(instance_of=AppSettings)
        run = providers.Dependency(instance_of=jobframe.RunContext)
        ledger = providers.Container(LedgerModule, settings=settings.provided.ledger, run=run)
        braze = providers.Container(BrazeModule, settings=settings.provided.braze, ledger=ledger.ledger)

Without ``--run-key`` the resource is :data:`~jobframe.ledger.DISABLED` and nothing is recorded —
no surprise resumption of yesterday's job. With one, it opens the run's ledger when a job first
needs it, and on teardown closes the run if the job succeeded (a retry of a closed run finds
everything delivered) or leaves it open for the retry that resumes it.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from jobframe.context import RunContext
from jobframe.ledger.ledger import DISABLED, RunLedger
from jobframe.ledger.settings import LedgerSettings

__all__ = ["LedgerModule", "ledger_counts", "open_ledger"]


class _Open:
    """The context manager an enabled ledger is provided through: the job's outcome closes the run."""

    def __init__(self, ledger: RunLedger) -> None:
        self.ledger = ledger

    def __enter__(self) -> RunLedger:
        return self.ledger

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        # jobframe's teardown passes the job's exception: a run that succeeded is closed
        self.ledger.finish(succeeded=exc_type is None)


def open_ledger(settings: LedgerSettings, run: RunContext) -> RunLedger | _Open:
    """Resource initialiser: the run's ledger — or, without a run key, :data:`DISABLED`, a plain
    value with nothing to open or close."""
    key = run.claim_run_key("jobframe.ledger")  # wired: no "ledger.unused", even if opening is refused
    if key is None:
        return DISABLED
    opened: list[RunLedger] = []
    # job.finished carries "resume" even when opening is refused
    run.add_summary(lambda: {"resume": opened[0].summary() if opened else {"run_key": key, "opened": False}})
    ledger = RunLedger.open(
        settings,
        key=key,
        job=run.job,
        fingerprint=run.fingerprint,
        fresh=run.fresh_run,
        resend_ambiguous=run.resend_ambiguous,
        retry=run.retry_number,
        registered=run.registered,
        new_run=run.new_run,
        shard=None if run.shard.is_whole else run.shard.index,
    )
    opened.append(ledger)
    run.observer.add_source(lambda: ledger_counts(ledger))
    return _Open(ledger)


def ledger_counts(ledger: RunLedger) -> dict[str, dict[str, int]]:
    """Objects a resumed run skipped, per endpoint: delivered before, or with an unknown outcome
    (the ``jobframe_ledger_*`` counters, docs/observability.md)."""
    counts: dict[str, dict[str, int]] = {}
    for journal in ledger.journals:
        entry = counts.setdefault(journal.endpoint, {"ledger_skipped": 0, "ledger_ambiguous": 0})
        entry["ledger_skipped"] += journal.skipped_items
    for batch in ledger.ambiguous:
        entry = counts.setdefault(batch.endpoint, {"ledger_skipped": 0, "ledger_ambiguous": 0})
        entry["ledger_ambiguous"] += sum(stop - start for start, stop in batch.items.values())
    return counts


class LedgerModule(containers.DeclarativeContainer):
    """Provides ``ledger``: the run ledger, from ``settings`` (:class:`LedgerSettings`) and the run."""

    settings = providers.Dependency(instance_of=LedgerSettings)
    run = providers.Dependency(instance_of=RunContext)
    ledger = providers.Resource(open_ledger, settings=settings, run=run)
