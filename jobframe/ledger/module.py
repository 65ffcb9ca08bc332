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

from collections.abc import Iterator

from dependency_injector import containers, providers

from jobframe.context import RunContext
from jobframe.ledger.ledger import DISABLED, RunLedger
from jobframe.ledger.settings import LedgerSettings

__all__ = ["LedgerModule", "open_ledger"]


def open_ledger(settings: LedgerSettings, run: RunContext) -> Iterator[RunLedger]:
    """Resource initialiser: the run's ledger (or :data:`DISABLED` without a run key)."""
    if run.run_key is None:
        yield DISABLED
        return
    ledger = RunLedger.open(
        settings,
        key=run.run_key,
        job=run.job,
        fingerprint=run.fingerprint,
        fresh=run.fresh_run,
        resend_ambiguous=run.resend_ambiguous,
    )
    run.add_summary(lambda: {"resume": ledger.summary()})
    succeeded = False
    try:
        yield ledger
        succeeded = True  # reached only when the job's teardown closes it without an exception
    finally:
        ledger.finish(succeeded=succeeded)


class LedgerModule(containers.DeclarativeContainer):
    """Provides ``ledger``: the run ledger, from ``settings`` (:class:`LedgerSettings`) and the run."""

    settings = providers.Dependency(instance_of=LedgerSettings)
    run = providers.Dependency(instance_of=RunContext)
    ledger = providers.Resource(open_ledger, settings=settings, run=run)
