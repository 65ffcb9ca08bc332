"""A run as one OpenTelemetry trace, exported over OTLP/HTTP (the ``otel`` extra).

Tracing is on when the standard variables name an exporter — ``OTEL_TRACES_EXPORTER=otlp``, or an
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` — and not
``OTEL_SDK_DISABLED=true``. Then a run is one trace: a span ``run <job>`` (continued from the
caller's W3C ``traceparent`` when given), children ``build``, ``execute``, ``close``, and a client
span per Braze request (method, endpoint, status, batch size, attempt — no body, no header, no
query). The endpoint and headers of the exporter come from the usual ``OTEL_EXPORTER_OTLP_*``
variables, read by OpenTelemetry itself; its timeout is the report's bound
(:data:`~jobframe.observe.report.REPORT_TIMEOUT_S`), whatever ``OTEL_EXPORTER_OTLP_TIMEOUT`` says.

This module imports OpenTelemetry only in :func:`start_tracing`; :func:`tracing_requested` reads
the environment alone, so a run without tracing pays nothing. The provider is never registered for
``atexit`` (OpenTelemetry's own shutdown at exit may wait 30 s): the run flushes it itself, bounded
(:mod:`jobframe.observe.report`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from jobframe.logs import get_logger
from jobframe.observe.observer import Outcome, SpanHandle, Tracer

__all__ = [
    "TRACEPARENT",
    "otlp_secrets",
    "start_tracing",
    "traces_endpoint",
    "tracing_requested",
    "valid_traceparent",
]

_log = get_logger("jobframe")

TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
"""W3C trace context ``traceparent``: version-trace_id-parent_id-flags, lowercase hex; a version
after ``00`` may add fields after a dash."""


def valid_traceparent(value: str) -> bool:
    """A ``traceparent`` W3C trace context lets a run continue; any other is ignored (a new trace).

    Version ``ff`` is forbidden, version ``00`` has exactly four fields, ids of all zeros are
    invalid; a later version is read by its first four fields, as the specification asks.
    """
    match = TRACEPARENT.match(value.strip())
    if match is None or match[1] == "ff" or (match[1] == "00" and match[5] is not None):
        return False
    return set(match[2]) != {"0"} and set(match[3]) != {"0"}


def _exporters(environ: Mapping[str, str]) -> list[str]:
    """``OTEL_TRACES_EXPORTER``: a comma-separated list, as the OpenTelemetry specification has it."""
    names = environ.get("OTEL_TRACES_EXPORTER", "").lower().split(",")
    return [name.strip() for name in names if name.strip()]


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the ``OTEL_*`` variables ask for traces to be exported (module docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = _exporters(environ)
    if exporters:
        return any(name != "none" for name in exporters)
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    )


def otlp_secrets(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The OTLP headers' values and the endpoints' passwords: for the log to mask wherever they appear.

    OpenTelemetry quotes a header it cannot parse (``Authorization: Bearer …``, a colon for ``=``)
    in its own warning; the run's log must never show the token.
    """
    found: list[str] = []
    for variable in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
        for part in environ.get(variable, "").split(","):
            _, equals, value = part.partition("=")
            if not equals:
                _, _, value = part.partition(":")
            for text in {value.strip(), unquote(value).strip()} - {""}:
                found += [text, text.split()[-1]]  # the whole value, and the token after "Bearer"
    for variable in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        try:
            password = urlsplit(environ.get(variable, "")).password
        except ValueError:
            continue
        if password:
            found += [password, unquote(password)]
    return found


def traces_endpoint(environ: Mapping[str, str] = os.environ) -> str:
    """Where the OTLP/HTTP exporter sends spans, read from the variables as it reads them."""
    traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if traces:
        return traces
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or "http://localhost:4318"
    return f"{base.rstrip('/')}/v1/traces"


def _unsupported(environ: Mapping[str, str]) -> str | None:
    """Why the environment asks for an export this module cannot do, or ``None``."""
    exporters = _exporters(environ)
    if exporters and "otlp" not in exporters:
        return f"OTEL_TRACES_EXPORTER={','.join(exporters)!r}: only 'otlp' is supported"
    for variable in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = environ.get(variable, "").strip()
        if protocol:
            if protocol != "http/protobuf":
                return f"{variable}={protocol!r}: only 'http/protobuf' is supported (port 4318)"
            return None
    return None


class _Recording:
    """The OTLP exporter, remembering whether a batch was refused: ``force_flush`` does not say."""

    def __init__(self, exporter: Any) -> None:
        self._exporter = exporter
        self.refused = 0

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult  # noqa: PLC0415

        result = self._exporter.export(spans)
        if result is not SpanExportResult.SUCCESS:
            self.refused += len(spans)
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self._exporter.force_flush(timeout_millis))


class _Span:
    __slots__ = ("_span",)

    def __init__(self, span: Any) -> None:
        self._span = span

    def end(self, **attributes: Any) -> None:
        from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415 - loaded by start_tracing

        status = attributes.get("status")
        if status is not None:
            self._span.set_attribute("http.response.status_code", status)
            if status >= 400:
                self._span.set_status(Status(StatusCode.ERROR))
        if "error" in attributes:
            self._span.set_attribute("error.type", attributes["error"])
            self._span.set_status(Status(StatusCode.ERROR))
        self._span.end()


class OtelTracer:
    """The run's spans on an SDK tracer provider of its own (never the global one)."""

    def __init__(
        self,
        provider: Any,
        job: str,
        traceparent: str | None,
        attributes: Mapping[str, Any],
        exporter: _Recording | None = None,
    ) -> None:
        from opentelemetry import trace  # noqa: PLC0415
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator  # noqa: PLC0415

        self._trace = trace
        self._provider = provider
        self._exporter = exporter
        self._tracer = provider.get_tracer("jobframe")
        parent = (
            TraceContextTextMapPropagator().extract({"traceparent": traceparent}) if traceparent else None
        )
        self._run = self._tracer.start_span(f"run {job}", context=parent, attributes=dict(attributes))
        self._run_context = trace.set_span_in_context(self._run)
        self._phase: Any = None
        self._phase_context = self._run_context

    @property
    def trace_id(self) -> str:
        return f"{self._run.get_span_context().trace_id:032x}"

    def phase(self, name: str) -> None:
        if self._phase is not None:
            self._phase.end()
        self._phase = self._tracer.start_span(name, context=self._run_context)
        self._phase_context = self._trace.set_span_in_context(self._phase)

    def request(self, endpoint: str, method: str, size: int, attempt: int) -> SpanHandle:
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": endpoint,
            "braze.endpoint": endpoint,
            "braze.attempt": attempt,
        }
        if size:
            attributes["braze.batch_size"] = size
        if attempt > 1:
            attributes["http.request.resend_count"] = attempt - 1
        span = self._tracer.start_span(
            f"{method} {endpoint}",
            context=self._phase_context,
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
        )
        return _Span(span)

    def finish(self, outcome: Outcome | None) -> None:
        from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415

        if self._phase is not None:
            self._phase.end()
            self._phase = None
        if outcome is not None:
            self._run.set_attribute("jobframe.exit_code", outcome.exit_code)
            if outcome.exit_code != 0:
                self._run.set_status(Status(StatusCode.ERROR, f"exit code {outcome.exit_code}"))
        self._run.end()

    def flush(self, timeout: float) -> bool:
        """Export every ended span; blocking (the caller bounds it in a daemon thread).

        Raises when the collector refused spans (connection refused, an HTTP error): the SDK's
        flush reports only whether it ended in time.
        """
        flushed = bool(self._provider.force_flush(int(timeout * 1000)))
        if self._exporter is not None and self._exporter.refused:
            raise RuntimeError(f"{self._exporter.refused} spans not accepted by the collector")
        return flushed


def start_tracing(
    job: str, *, traceparent: str | None, timeout: float, attributes: Mapping[str, Any] | None = None
) -> Tracer | None:
    """The run's tracer when the ``otel`` extra is installed; ``None`` (and a warning) otherwise.

    A ``traceparent`` W3C trace context does not accept is ignored, as the specification says:
    the run starts a trace of its own, and a warning names the value.
    """
    unsupported = _unsupported(os.environ)
    if unsupported is not None:
        _log.warning("trace.unavailable", reason=unsupported)
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
    except ImportError as exc:
        _log.warning(
            "trace.unavailable",
            reason=f"OTEL_* asks for traces but {exc.name} is missing: pip install 'jobframe[otel]'",
        )
        return None
    if traceparent is not None and not valid_traceparent(traceparent):
        _log.warning(
            "trace.traceparent_ignored",
            traceparent=traceparent[:100],
            reason="not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>, lower case): a new trace begins",
        )
        traceparent = None
    try:  # the SDK reads OTEL_BSP_* and more itself, and refuses some values with an exception
        # OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES (read by the SDK), else ours
        resource = Resource.create({"jobframe.job": job})
        if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": "jobframe"}))
        provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        exporter = _Recording(OTLPSpanExporter(timeout=timeout))
        provider.add_span_processor(BatchSpanProcessor(exporter))  # type: ignore[arg-type]
        return OtelTracer(provider, job, traceparent, {"jobframe.job": job, **(attributes or {})}, exporter)
    except Exception as exc:  # noqa: BLE001 - a trace is never worth a run
        _log.warning("trace.unavailable", reason=f"OpenTelemetry refused its OTEL_* settings: {exc}")
        return None
