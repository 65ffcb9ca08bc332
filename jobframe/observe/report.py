"""The end of a run, seen from outside: push the metrics, flush the trace — bounded in time.

:func:`report_run` is called once, after teardown and before the process exits. Both network
calls run in daemon threads and are waited for at most :data:`REPORT_TIMEOUT_S` seconds together
(less when the exit grace or the deadline is nearer): a gateway or collector that is down, slow
or hanging costs the exit at most that, never changes the exit code, and is logged (``metrics.push_failed``,
``trace.export_failed``). A signal during the wait ends the process as usual: the threads are
daemons and the process leaves them behind.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from jobframe.logs import MASK, Redact, get_logger
from jobframe.observe.observer import Observer, Outcome

__all__ = ["REPORT_TIMEOUT_S", "Reporting", "public_url", "report_run", "start_reporting"]

_log = get_logger("jobframe")

REPORT_TIMEOUT_S = 2.0
"""At most this long between the end of teardown and the exit guard for the push and the flush;
never more than the exit grace left (``--exit-grace``), which the report is part of."""

DEADLINE_MARGIN_S = 0.5
"""Kept free before the deadline for the exit guard: the report ends this long before it at the latest."""


@dataclass(frozen=True)
class Reporting:
    """Where the end of a run is reported: the CLI's ``--pushgateway`` and the run's identity."""

    job: str
    observer: Observer
    pushgateway: str | None = field(default=None, repr=False)  # may hold a password
    shard: str | None = None
    timeout: float = REPORT_TIMEOUT_S


def _task(event: str, work: Callable[[], object], failures: dict[str, str]) -> threading.Thread:
    def run() -> None:
        try:
            if work() is False:
                failures[event] = "not exported in time"
        except Exception as exc:  # noqa: BLE001 - whatever the network says, the exit goes on
            failures[event] = f"{type(exc).__name__}: {exc}"

    return threading.Thread(target=run, name=f"jobframe-{event}", daemon=True)


def report_run(reporting: Reporting, exit_code: int, grace: float | None = None) -> None:
    """Push metrics and flush the trace of the run that ended with ``exit_code``; bounded, never raises.

    The bound is :data:`REPORT_TIMEOUT_S`, cut to ``grace`` — what is left of the exit grace,
    which the report shares with the exit guard (one bound for everything after teardown) — and
    to the time left before the run's deadline: the report never makes a run miss its deadline
    nor outlast its ``terminationGracePeriodSeconds``.
    """
    observer = reporting.observer
    tracer = observer.tracer
    if reporting.pushgateway is None and tracer is None:
        return
    bound = reporting.timeout if grace is None else min(reporting.timeout, grace)
    if observer.deadline is not None:
        bound = max(0.0, min(bound, observer.deadline.seconds_left() - DEADLINE_MARGIN_S))
    started = time.monotonic()
    # a run refused before it started has no job.finished: its outcome is the exit code alone
    outcome = observer.outcome if observer.outcome is not None else Outcome(exit_code, 0.0)
    duration = outcome.duration_s
    failures: dict[str, str] = {}
    tasks: dict[str, threading.Thread] = {}
    if tracer is not None:

        def export() -> bool:
            tracer.finish(outcome)  # ends the open spans: in the thread too, whatever it raises
            return tracer.flush(bound)

        tasks["trace.export_failed"] = _task("trace.export_failed", export, failures)
    if reporting.pushgateway is not None:
        from jobframe.observe.pushgateway import push  # noqa: PLC0415 - the metrics extra

        url = reporting.pushgateway

        def send() -> None:
            push(
                url,
                observer,
                job=reporting.job,
                shard=reporting.shard,
                exit_code=exit_code,
                duration_s=duration,
                now=time.time(),
                timeout=bound,
            )

        tasks["metrics.push_failed"] = _task("metrics.push_failed", send, failures)
    for thread in tasks.values():
        thread.start()
    from jobframe.observe.tracing import traces_endpoint  # noqa: PLC0415 - reads the environment alone

    for thread in tasks.values():
        thread.join(max(0.0, bound - (time.monotonic() - started)))
    waited = round(time.monotonic() - started, 3)
    for event, thread in tasks.items():
        if thread.is_alive():
            failures.setdefault(event, f"no answer within {round(bound, 2):g} s")
        if event in failures:
            target = public_url(reporting.pushgateway if event.startswith("metrics") else traces_endpoint())
            error = failures[event].replace(reporting.pushgateway or "\0", target)
            _log.warning(event, target=target, error=error, waited_s=waited)


def public_url(url: str | None) -> str:
    """``url`` without a password (``http://user:***@gw:9091``): what a log line or an error may show.

    Read without parsing the URL, so a malformed one (an IPv6 literal not closed, a port that
    is no number) is masked as well as a good one.
    """
    if not url:
        return ""
    return _USERINFO.sub(lambda m: f"{m[1]}{m[2]}:{MASK}@" if m[3] is not None else m[0], url, count=1)


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^:@/?#]*)(:[^/?#]*)?@")
"""``scheme://user[:password]@``: the password is group 3 (with its colon)."""


def start_reporting(
    job: str,
    *,
    pushgateway: str | None,
    traceparent: str | None,
    shard: str | None,
    redact: Redact | None = None,
) -> Reporting:
    """The run's observer and where its end is reported: traced when ``OTEL_*`` asks for it.

    ``--pushgateway`` without ``prometheus_client`` raises ``ImportError`` naming the extra, before
    the job starts. Without a gateway and without ``OTEL_*`` nothing is imported. ``redact``
    learns the gateway's password and the OTLP headers' values, masked in every log line after.
    """
    from jobframe.observe.tracing import otlp_secrets  # noqa: PLC0415 - reads the environment alone

    if redact is not None:
        secrets = otlp_secrets()
        if pushgateway is not None and (password := urlsplit(pushgateway).password):
            secrets += [password, unquote(password)]
        redact.add_secrets(secrets)
    if pushgateway is not None:
        from jobframe.observe.pushgateway import require_client  # noqa: PLC0415

        require_client()
    from jobframe.observe.tracing import tracing_requested  # noqa: PLC0415

    tracer = None
    if tracing_requested():
        from jobframe.observe.tracing import start_tracing  # noqa: PLC0415

        attributes = {} if shard is None else {"jobframe.shard": shard}
        tracer = start_tracing(job, traceparent=traceparent, timeout=REPORT_TIMEOUT_S, attributes=attributes)
    return Reporting(job=job, observer=Observer(tracer), pushgateway=pushgateway, shard=shard)
