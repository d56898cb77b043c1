"""The gateway's traces and metrics: a caller's trace reaches the server behind the gateway, in `_meta`; each call's
facts land on its span and in Prometheus metrics served at /metrics behind the same checks as MCP; and with both
off, nothing of either is imported. Servers run in process (the SDK's in-memory transport stands in for their
containers; tests/integration/test_gateway_observe.py has the real ones, a real OTLP receiver and a scrape)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, StatusCode, TraceFlags
from prometheus_client.parser import text_string_to_metric_families

from mcpkit_runtime import http
from mcpkit_runtime.audit import AuditLog
from mcpkit_runtime.gateway.downstream import Downstream
from mcpkit_runtime.gateway.metrics import GatewayMetrics
from mcpkit_runtime.gateway.observe import Observer, ObserveUnavailable, observe, start_tracing
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.settings import GatewaySettings
from mcpkit_runtime.server import Runtime

Serve = Callable[..., str]  # the serve_asgi fixture (conftest.py)
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CALLER_SPAN = 0x00F067AA0BA902B7


def _behind(audit: io.StringIO) -> Downstream:
    """A server on the runtime, its audit lines in `audit`: it says which trace each call belonged to."""
    runtime = Runtime("echo", "1.0", audit=AuditLog("echo", "1.0", stream=audit))
    server = runtime.create_server()

    @server.tool()
    def echo(text: str) -> str:
        return text

    @server.tool()
    def fail() -> str:
        raise ToolError("no")

    return Downstream("echo", server)


def _caller_trace() -> Any:
    """A span as a traced client has it current while it calls: its context goes out as `_meta.traceparent`."""
    context = SpanContext(TRACE_ID, CALLER_SPAN, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.use_span(NonRecordingSpan(context))


def _parsed(text: str) -> dict[str, float]:
    """Each sample as `name{label=value,...}` -> value."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


@pytest.mark.parametrize("mode", ["legacy", "auto"])  # the handshake era, and the stateless 2026-07-28
def test_a_callers_trace_reaches_the_server_behind_the_gateway_with_tracing_off(mode: str) -> None:
    audit = io.StringIO()
    gateway = Gateway([_behind(audit)], GatewaySettings())

    async def call() -> None:
        async with Client(gateway.server(), mode=mode) as client:  # type: ignore[arg-type]
            with _caller_trace():
                assert not (await client.call_tool("echo__echo", {"text": "hi"})).is_error
            assert not (await client.call_tool("echo__echo", {"text": "untraced"})).is_error

    anyio.run(call)
    traced, untraced = [json.loads(line) for line in audit.getvalue().splitlines() if '"tool_call"' in line]
    assert traced["trace_id"] == f"{TRACE_ID:032x}", "the server's audit line joins the caller's trace"
    assert "trace_id" not in untraced, "a call outside a trace is in none"
    assert gateway.observer is None, "off by default"


def test_each_call_is_counted_and_timed_by_server_tool_and_outcome() -> None:
    settings = GatewaySettings.model_validate({"rate-limits": {"echo__fail": "1/min:1"}})
    gateway = Gateway([_behind(io.StringIO())], settings)
    metrics = GatewayMetrics.for_gateway(gateway)
    gateway.observer = Observer(tracing=False, metrics=metrics)

    async def call() -> None:
        async with Client(gateway.server(), mode="legacy") as client:
            for _ in range(3):
                await client.call_tool("echo__echo", {"text": "x"})
            await client.call_tool("echo__fail", {})  # the tool's own error
            await client.call_tool("echo__fail", {})  # refused: over its rate

    anyio.run(call)
    samples = _parsed(metrics.render()[0].decode())
    calls = "mcpkit_gateway_tool_calls_total{outcome=%s,server=echo,tool=echo__%s}"
    assert samples[calls % ("ok", "echo")] == 3
    assert samples[calls % ("error", "fail")] == 1
    assert samples[calls % ("refused_rate_limit", "fail")] == 1
    assert samples["mcpkit_gateway_tool_errors_total{server=echo,tool=echo__fail}"] == 2
    assert samples["mcpkit_gateway_tool_call_seconds_count{server=echo,tool=echo__echo}"] == 3
    assert samples["mcpkit_gateway_server_restarts_total{server=echo}"] == 0
    assert samples["mcpkit_gateway_clients_opened_total{}"] == 1


def test_a_calls_facts_land_on_the_span_of_its_request() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()  # its own: the process-wide one is set once, by the gateway's process
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observer = Observer(tracing=True, metrics=None)
    with provider.get_tracer("test").start_as_current_span("tools/call echo__fail"):
        observer.tool_call("token:abc/client-1", "echo", "echo__fail", "error", 0.0125)
    (span,) = exporter.get_finished_spans()
    assert dict(span.attributes or {}) == {
        "mcpkit.client": "token:abc/client-1", "mcpkit.server": "echo", "mcpkit.tool": "echo__fail",
        "mcpkit.outcome": "error", "mcpkit.duration_ms": 12.5,
    }  # fmt: skip
    assert span.status.status_code is StatusCode.ERROR


def test_metrics_are_served_behind_the_host_check_and_the_token(serve_asgi: Serve) -> None:
    gateway = Gateway([_behind(io.StringIO())], GatewaySettings())
    metrics = GatewayMetrics.for_gateway(gateway)
    app = http.app(gateway.server(), host="127.0.0.1", token="secret", health=gateway.health, allowed_hosts=[],
                   metrics=metrics.render)  # fmt: skip
    url = serve_asgi(app)

    def get(path: str, **headers: str) -> tuple[int, str]:
        request = urllib.request.Request(f"{url}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    assert get("/metrics")[0] == 401
    assert get("/metrics", Authorization="Bearer secret", Host="evil.example:80")[0] == 421
    status, text = get("/metrics", Authorization="Bearer secret")
    assert status == 200 and "mcpkit_gateway_server_ready" in text
    plain = http.app(gateway.server(), host="127.0.0.1", token=None, health=gateway.health, allowed_hosts=[])
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"{serve_asgi(plain)}/metrics", timeout=10)  # not asked for: not there


def test_nothing_of_traces_or_metrics_is_imported_while_they_are_off() -> None:
    probe = (
        "import sys; from mcpkit_runtime.gateway.proxy import Gateway; "
        "from mcpkit_runtime.gateway.settings import GatewaySettings; "
        "from mcpkit_runtime.gateway.observe import observe; "
        "g = Gateway([], GatewaySettings()); observe(g, {}, metrics=False); assert g.observer is None; "
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter', "
        "'prometheus_client'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_traces_asked_for_without_the_packages_say_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(ObserveUnavailable, match=r"mcpkit\[observe\]"):
        start_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert (
        start_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_SDK_DISABLED": "true"}) is None
    )
    gateway = Gateway([], GatewaySettings())
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ObserveUnavailable, match="prometheus-client"):
        observe(gateway, {}, metrics=True, stream=io.StringIO())
