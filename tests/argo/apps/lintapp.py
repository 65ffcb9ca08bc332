"""The app the hand-written manifests of ``test_lint.py`` are written for: the default app, but
with a ``SomeJob`` whose team made its push repeat harmlessly, so it keeps the default retries
and the manifests can carry (and break) a retry strategy. The default app's ``SomeJob`` is
declared never retried, and lint reports a manifest that retries it."""

from __future__ import annotations

from dependency_injector import providers

import jobframe
from jobs.container import MainContainer
from jobs.some_job import SomeJob


@jobframe.job(name="SomeJob", timeout=1200)
class RetryableSomeJob(SomeJob):
    """SomeJob, declared with the default retries."""


class LintApp(MainContainer):
    """``jobs:MainContainer`` with the retryable ``SomeJob``."""

    some_job = providers.Factory(RetryableSomeJob, braze=MainContainer.braze.client, run=MainContainer.run)
