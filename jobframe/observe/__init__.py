"""What a run tells the outside world besides its log: counts, a Pushgateway push, a trace.

:class:`Observer` is the run's one observability object. jobframe creates it for every run and
injects it (``RunContext.observer``; ``BrazeModule.observer``), so the Braze clients and the run
ledger count into it without a job writing a line and without any module-level registry.
At the end of the run :mod:`jobframe.observe.pushgateway` pushes what it holds to a Prometheus
Pushgateway (``--pushgateway``) and :mod:`jobframe.observe.tracing` exports the run's trace
(``OTEL_*``). The run's progress reporter (:mod:`jobframe.observe.progress`) hangs off it too,
so a bulk call reports ``N/M`` to its own run, never to one looked up globally. Neither
``prometheus_client`` nor ``opentelemetry`` is imported unless asked for. See
docs/observability.md.
"""

from jobframe.observe.observer import COUNTS, EndpointCounts, Observer, Outcome, RequestRecord

__all__ = ["COUNTS", "EndpointCounts", "Observer", "Outcome", "RequestRecord"]
