"""The gateway's traces and metrics, both off by default, and with nothing of either imported while off.

Traces: on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (OpenTelemetry's own
variables; OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME and the others are read by its exporter as usual); spans
go out over OTLP/HTTP (protobuf). The span of a call is the one the MCP SDK opens for every request it serves
(`tools/call NAME`, a server span, continued from the `traceparent` a client sent in the request's `_meta`); the
gateway adds who called, which server and tool, the outcome and the duration. The SDK's client span for the call to
the server is its child, and its context reaches the server as `_meta.traceparent` (W3C trace context).

Metrics: Prometheus text at /metrics on the gateway's HTTP front (mcpkit_runtime.gateway.metrics).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from mcpkit_runtime.gateway.metrics import GatewayMetrics

TRACES_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
INSTALL_HINT = "install them: pip install 'mcpkit[observe]' (or 'mcpkit-runtime[observe]')"
Shutdown = Callable[[], None]


class ObserveUnavailable(Exception):
    """Traces or metrics were asked for, but the packages they need are not installed."""


def traces_wanted(environ: Mapping[str, str]) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(environ.get(name, "").strip() for name in TRACES_ENDPOINTS)


def start_tracing(environ: Mapping[str, str], service: str = "mcpkit-gateway") -> Shutdown | None:
    """Export the process's spans over OTLP/HTTP when an endpoint is configured; the function that flushes and
    stops the exporter, or None when traces are off."""
    if not traces_wanted(environ):
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ObserveUnavailable(f"traces need opentelemetry-sdk and its OTLP/HTTP exporter ({exc.name} is missing); {INSTALL_HINT}") from None  # fmt: skip
    # OTEL_SERVICE_NAME, when set, wins over the default (Resource.create reads it).
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider.shutdown


class Observer:
    """What the gateway tells of each tool call: onto the current span when tracing, into the metrics when they
    are kept. The gateway holds None instead when both are off: a call then costs one test."""

    def __init__(self, *, tracing: bool, metrics: GatewayMetrics | None) -> None:
        self.tracing = tracing
        self.metrics = metrics

    def tool_call(self, client: str, server: str, tool: str, outcome: str, seconds: float) -> None:
        if self.tracing:
            annotate_span(client, server, tool, outcome, seconds)
        if self.metrics is not None:
            self.metrics.tool_call(server, tool, outcome, seconds)


def annotate_span(client: str, server: str, tool: str, outcome: str, seconds: float) -> None:
    """The call's facts on the span current in the request (the SDK's `tools/call` span)."""
    from opentelemetry import trace
    from opentelemetry.trace import StatusCode

    span = trace.get_current_span()
    span.set_attributes({"mcpkit.client": client, "mcpkit.server": server, "mcpkit.tool": tool,
                         "mcpkit.outcome": outcome, "mcpkit.duration_ms": round(seconds * 1000, 3)})  # fmt: skip
    if outcome != "ok":
        span.set_status(StatusCode.ERROR, outcome)


def observe(
    gateway: Any, environ: Mapping[str, str], *, metrics: bool, stream: Any = None
) -> tuple[GatewayMetrics | None, Shutdown]:
    """Turn on what is asked for (traces from the environment, metrics when `metrics`) and attach it to `gateway`;
    its metrics (to serve at /metrics) and what to call on the way out. Raises ObserveUnavailable when a package is
    missing for what was asked."""
    shutdown = start_tracing(environ)
    kept = GatewayMetrics.for_gateway(gateway) if metrics else None
    if shutdown is not None or kept is not None:
        gateway.observer = Observer(tracing=shutdown is not None, metrics=kept)
        what = [w for w, on in (("traces over OTLP/HTTP", shutdown), ("metrics at /metrics", kept)) if on]
        (stream or sys.stderr).write(f"observing: {', '.join(what)}\n")
    return kept, shutdown or (lambda: None)
