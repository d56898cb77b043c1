"""`kit gateway --http --metrics` in front of the analyst's real image, with traces on: a traced client's call
continues its trace through the gateway into the server, whose audit line names the gateway's span; the gateway's
spans arrive over OTLP/HTTP with who called, the server, the tool, the outcome and the duration; /metrics scraped.

No OpenTelemetry collector can be installed here: a small HTTP server in this test stands in for one, decoding the
OTLP protobuf bodies with opentelemetry-proto as a collector's OTLP/HTTP receiver does. The scrape is an HTTP GET
parsed with prometheus_client's own parser of the text format, not a Prometheus server (installing one on the host
is more than CI should do for this check)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest
from mcp import Client
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from prometheus_client.parser import text_string_to_metric_families

from kit.image.builder import BuildResult
from kit.project.settings import Settings

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
CALLER_SPAN = 0xB7AD6B7169203331


class Receiver:
    """Spans posted to /v1/traces, decoded: each as a dict of its ids (hex), name, kind and attributes."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.take(request)
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self, request: ExportTraceServiceRequest) -> None:
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}.get("service.name")
            for scope in resource.scope_spans:
                for span in scope.spans:
                    attributes = {
                        a.key: getattr(a.value, a.value.WhichOneof("value")) for a in span.attributes
                    }
                    self.spans.append({"trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                                       "parent": span.parent_span_id.hex(), "name": span.name, "kind": span.kind,
                                       "service": service, "status": span.status.code, "attributes": attributes})  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiving = Receiver()
    thread = threading.Thread(target=receiving.server.serve_forever, daemon=True)
    thread.start()
    yield receiving
    receiving.server.shutdown()
    receiving.server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _until(check: Callable[[], Any], what: str, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.2)
    return found


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return None


def test_a_traced_call_through_the_gateway_is_exported_scraped_and_joined_by_the_server(
    analyst_image: BuildResult,
    kit_settings: Settings,
    receiver: Receiver,
    own_containers: Callable[..., list[Any]],
) -> None:
    port = _free_port()
    env = {**os.environ, "KIT_PROJECT_DIR": str(kit_settings.project_dir), "KIT_BASE_IMAGE": kit_settings.base_image,
           "KIT_CACHE_DIR": str(kit_settings.cache_dir), "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
           "OTEL_BSP_SCHEDULE_DELAY": "200",
           "KIT_ENGINE_LOGS": "true"}  # fmt: skip  # the server's audit line is read from the engine's log below
    gateway = subprocess.Popen(
        [sys.executable, "-m", "kit", "gateway", "--http", "--port", str(port), "--metrics", "analyst"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _get(f"{url}/health") or gateway.poll() is not None, "the gateway answering /health")
        assert gateway.poll() is None, "the gateway exited"

        async def call() -> Any:
            caller = SpanContext(
                TRACE_ID, CALLER_SPAN, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
            )
            with anyio.fail_after(180):
                async with Client(f"{url}/mcp", mode="legacy") as client:
                    with trace.use_span(
                        NonRecordingSpan(caller)
                    ):  # a traced client: its span goes out in _meta
                        return await client.call_tool(
                            "analyst__run_sql", {"query": "SELECT count(*) FROM products"}
                        )

        result = anyio.run(call)
        assert not result.is_error, result

        def gateway_spans() -> list[dict[str, Any]]:
            return [s for s in receiver.spans if s["trace_id"] == f"{TRACE_ID:032x}"]

        _until(
            lambda: any(s["name"].startswith("MCP send tools/call") for s in gateway_spans()), "the export"
        )
        (analyst,) = own_containers("analyst")
        audit = [json.loads(line) for line in analyst.logs(stdout=False, stderr=True).decode().splitlines()
                 if '"tool_call"' in line]  # fmt: skip
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(_get(f"{url}/metrics") or "")
            for sample in family.samples
        }
    finally:
        gateway.send_signal(signal.SIGINT)
        stderr = gateway.communicate(timeout=60)[1].decode()
    assert "observing: traces over OTLP/HTTP, metrics at /metrics" in stderr

    (call_span,) = [s for s in gateway_spans() if s["name"] == "tools/call analyst__run_sql"]
    assert call_span["parent"] == f"{CALLER_SPAN:016x}", "the caller's trace is continued"
    assert call_span["service"] == "mcpkit-gateway"
    attributes = call_span["attributes"]
    assert {k: attributes[k] for k in ("mcpkit.server", "mcpkit.tool", "mcpkit.outcome")} == {
        "mcpkit.server": "analyst", "mcpkit.tool": "analyst__run_sql", "mcpkit.outcome": "ok"}  # fmt: skip
    assert attributes["mcpkit.client"] and attributes["mcpkit.duration_ms"] > 0
    (to_server,) = [s for s in gateway_spans() if s["name"] == "MCP send tools/call run_sql"]
    assert to_server["parent"] == call_span["span_id"]
    (line,) = [entry for entry in audit if entry["tool"] == "run_sql"]
    assert (line["trace_id"], line["span_id"]) == (f"{TRACE_ID:032x}", to_server["span_id"]), (
        "the server received the gateway's span as its traceparent in _meta"
    )

    labels = (("server", "analyst"), ("tool", "analyst__run_sql"))
    assert samples[("mcpkit_gateway_tool_calls_total", (("outcome", "ok"), *labels))] == 1
    assert samples[("mcpkit_gateway_tool_call_seconds_count", labels)] == 1
    assert samples[("mcpkit_gateway_server_ready", (("server", "analyst"),))] == 1
    assert samples[("mcpkit_gateway_server_restarts_total", (("server", "analyst"),))] == 0
