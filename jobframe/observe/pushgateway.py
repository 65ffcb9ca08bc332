"""Push one run's metrics to a Prometheus Pushgateway, the Prometheus project's way for batch jobs.

Grouping key ``job=<job name>`` (plus ``shard=<INDEX/COUNT>`` for a shard). A successful run
**replaces** its group (HTTP PUT): everything there is this run's, and
``jobframe_job_last_success_timestamp_seconds`` is set. Any other run **adds** to it (HTTP POST,
which replaces only the metric families it carries): it never carries the last success, so a
failure never overwrites it. Every other family a run carries (duration, exit code, last run,
the Braze and ledger counters of the endpoints it called) is the latest run's.

Only this module imports ``prometheus_client`` (the ``metrics`` extra), and only when a push is
asked for. The families are built by a collector of this run's numbers, pushed as it is: no
registry, no process-wide state. The request goes through :mod:`http.client`, which every run
has loaded already (:func:`http_handler`).
"""

from __future__ import annotations

import http.client
import io
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import getproxies

from jobframe.observe.observer import COUNTS, Observer

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

__all__ = ["COUNTERS", "grouping_key", "http_handler", "push", "registry_for", "require_client"]

COUNTERS: dict[str, tuple[str, str]] = {
    "requests": ("jobframe_braze_requests", "HTTP requests sent to Braze, retries included."),
    "rate_limited": ("jobframe_braze_rate_limited", "Braze requests answered 429 (rate limited)."),
    "retries": ("jobframe_braze_retries", "Braze requests that repeated an earlier attempt."),
    "objects_sent": ("jobframe_braze_objects_sent", "Objects of delivered batches Braze accepted."),
    "objects_rejected": (
        "jobframe_braze_objects_rejected",
        "Objects Braze refused (failed batches, partial errors).",
    ),
    "objects_ambiguous": ("jobframe_braze_objects_ambiguous", "Objects of batches whose outcome is unknown."),
    "ledger_skipped": ("jobframe_ledger_skipped_objects", "Objects a resumed run skipped: delivered before."),
    "ledger_ambiguous": (
        "jobframe_ledger_ambiguous_objects",
        "Objects a resumed run skipped: outcome unknown.",
    ),
}
"""Per-endpoint counters: :class:`~jobframe.observe.EndpointCounts` field -> (name without
``_total``, help). Each has one label, ``endpoint``."""

assert set(COUNTERS) == set(COUNTS)


def require_client() -> None:
    """Raise ``ImportError`` with the fix when ``prometheus_client`` is not installed."""
    try:
        import prometheus_client  # noqa: F401, PLC0415
    except ImportError:
        raise ImportError("--pushgateway needs prometheus-client: pip install 'jobframe[metrics]'") from None


def grouping_key(job: str, shard: str | None) -> dict[str, str]:
    """The Pushgateway group of a run: its job, and its shard when it is one."""
    key = {"job": job}
    if shard is not None:
        key["shard"] = shard
    return key


class _RunCollector:
    """This run's numbers as metric families (a custom collector: no ``_created`` series)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def registry_for(observer: Observer, exit_code: int, duration_s: float, now: float) -> Collector:
    """This run's families, as ``push_to_gateway(registry=...)`` takes them (any collector does);
    the last success only when ``exit_code`` is 0."""
    # metrics_core, not core: the package has loaded it; core would be one more module to load
    from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily  # noqa: PLC0415

    families: list[Metric] = [
        GaugeMetricFamily(
            "jobframe_job_duration_seconds", "Seconds from the job's start to job.finished.", value=duration_s
        ),
        GaugeMetricFamily(
            "jobframe_job_exit_code", "The run's exit code (README: exit codes).", value=exit_code
        ),
        GaugeMetricFamily(
            "jobframe_job_last_run_timestamp_seconds", "Unix time the last run ended.", value=now
        ),
    ]
    if exit_code == 0:
        families.append(
            GaugeMetricFamily(
                "jobframe_job_last_success_timestamp_seconds",
                "Unix time the last successful run ended.",
                value=now,
            )
        )
    counts = observer.counts()
    for field, (name, text) in COUNTERS.items():
        family = CounterMetricFamily(name, text, labels=["endpoint"])
        for endpoint in sorted(counts):
            family.add_metric([endpoint], getattr(counts[endpoint], field))
        if family.samples:
            families.append(family)
    return _RunCollector(families)


def http_handler(
    url: str, method: str, timeout: float | None, headers: Sequence[tuple[str, str]], data: bytes
) -> Callable[[], None]:
    """``push_to_gateway``'s ``handler``: the request over :mod:`http.client`, loaded by every run.

    The library's default handler builds a urllib opener (ten handler objects) per push, and
    resolves the host as a ``str``, which makes :func:`socket.getaddrinfo` load the ``idna``
    codec. Here an ASCII host is resolved as bytes, and the request is the same: method, headers
    (``Connection: close``, as urllib sends), body, timeout; a failure to connect or send is a
    ``URLError``, an answer other than 2xx an ``HTTPError``, as from urllib. An ``https`` URL,
    credentials in the URL (:func:`_authenticated` sends those with the library's basic-auth handler)
    and an ``http_proxy`` from the environment keep the library's handler.
    """
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme != "http" or host is None or "@" in parts.netloc or "http" in getproxies():
        from prometheus_client.exposition import default_handler  # noqa: PLC0415 - the metrics extra

        return default_handler(url, method, timeout, list(headers), data)
    port = parts.port or http.client.HTTP_PORT
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))

    def handle() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            try:
                address = host.encode() if host.isascii() else host  # a str loads the idna codec
                # getaddrinfo takes bytes (typeshed's create_connection says str only)
                connection.sock = socket.create_connection((address, port), timeout)  # type: ignore[arg-type]
                connection.request(method, target, data, {**dict(headers), "Connection": "close"})
            except OSError as exc:
                raise URLError(exc) from exc
            response = connection.getresponse()
            if not 200 <= response.status < 300:
                said = io.BytesIO(response.read(_SAID_LIMIT))  # the gateway's reason (:func:`_said`)
                raise HTTPError(url, response.status, response.reason, response.headers, said)
        finally:
            connection.close()

    return handle


def push(
    url: str,
    observer: Observer,
    *,
    job: str,
    shard: str | None,
    exit_code: int,
    duration_s: float,
    now: float,
    timeout: float,
) -> None:
    """Push (blocking; raises on any failure). PUT on success, POST otherwise (module docstring)."""
    from prometheus_client import push_to_gateway, pushadd_to_gateway  # noqa: PLC0415 - the metrics extra

    registry = registry_for(observer, exit_code, duration_s, now)
    send: Any = push_to_gateway if exit_code == 0 else pushadd_to_gateway
    key = grouping_key(job, shard)
    job_name = key.pop("job")
    gateway, handler = _authenticated(url)
    try:
        send(
            gateway, job=job_name, registry=registry, grouping_key=key, timeout=max(timeout, 0.001), **handler
        )
    except HTTPError as exc:  # the gateway's answer says why (a 400: metrics inconsistent with others)
        raise RuntimeError(f"HTTP {exc.code} {exc.reason}: {_said(exc)}") from None


def _said(answer: HTTPError) -> str:
    """The first line of an error answer's body, bounded: the gateway's reason, never a page."""
    try:
        body = answer.read(_SAID_LIMIT).decode("utf-8", "replace")
    except OSError:
        return ""
    first = body.strip().splitlines()[0] if body.strip() else ""
    return first[:_SAID_LIMIT]


_SAID_LIMIT = 500


def _authenticated(url: str) -> tuple[str, dict[str, Any]]:
    """``url`` without its ``user:password@``, and the handler to push it with.

    urllib would take the credentials for part of the host name; prometheus-client's
    ``basic_auth_handler`` sends them in the ``Authorization`` header instead. A URL without
    credentials goes through :func:`http_handler`.
    """
    parts = urlsplit(url)
    if parts.username is None:
        return url, {"handler": http_handler}
    from prometheus_client.exposition import basic_auth_handler  # noqa: PLC0415 - the metrics extra

    user, password = unquote(parts.username), unquote(parts.password or "")

    def handler(
        url: str, method: str, timeout: float | None, headers: Any, data: bytes
    ) -> Callable[[], None]:
        return basic_auth_handler(url, method, timeout, headers, data, user, password)

    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return bare, {"handler": handler}
