"""What traces and metrics add to a call through the gateway: three gateways over streamable HTTP, one with both
off, one with /metrics, one with /metrics and traces (exported over OTLP/HTTP to a sink this script runs), each in
front of its own small server over stdio (a process of its own, as a container would be, without Docker's noise). Paired: every
client open at once, calls rotated, so the machine's load falls on both alike.

Prints a table and writes .bench/observe.json, with the machine's load before and after.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from rich.console import Console
from rich.table import Table

CALLS = 2000
WARMUP = 100
OUT = Path(__file__).resolve().parents[1] / ".bench" / "observe.json"


def downstream() -> None:
    """The server behind both gateways: one tool, over stdio."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("echo")

    @server.tool()
    def echo(text: str) -> str:
        return text

    server.run()


def gateway(port: int, observed: bool) -> None:
    from mcpkit_runtime import http
    from mcpkit_runtime.gateway.downstream import Downstream
    from mcpkit_runtime.gateway.observe import observe
    from mcpkit_runtime.gateway.proxy import Gateway
    from mcpkit_runtime.gateway.settings import GatewaySettings

    target = StdioServerParameters(command=sys.executable, args=[__file__, "--downstream"])
    front = Gateway([Downstream("echo", target)], GatewaySettings())
    metrics, shutdown = observe(front, os.environ, metrics=observed)
    try:
        http.serve(
            front.server(), port=port, health=front.health, metrics=metrics.render if metrics else None
        )
    finally:
        shutdown()


class Sink:
    """An OTLP/HTTP endpoint that takes every export and counts its bytes (a collector's receiving end)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.posts = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sink.bytes += len(self.rfile.read(int(self.headers["Content-Length"])))
                sink.posts += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


VARIANTS = {
    "off": (False, False),
    "metrics": (True, False),
    "traces+metrics": (True, True),
}  # (metrics, traces)


def start(variant: str, sink: Sink) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    metrics, traces = VARIANTS[variant]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    if traces:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.url
    process = subprocess.Popen([sys.executable, __file__, "--gateway", str(port), "1" if metrics else "0"], env=env,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2).close()
            return process, url
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (its threads included: the span exporter's too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def paired(urls: dict[str, str], pids: dict[str, int], cpu: dict[str, float]) -> dict[str, list[float]]:
    """Each call's wall time in ms, by gateway; `cpu` gets each gateway's CPU seconds over the measured calls."""
    samples: dict[str, list[float]] = {name: [] for name in urls}
    async with contextlib.AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(Client(f"{url}/mcp", mode="legacy")) for name, url in urls.items()}  # fmt: skip
        names = list(urls)
        for index in range(WARMUP + CALLS):
            if index == WARMUP:
                cpu.update({name: -cpu_seconds(pid) for name, pid in pids.items()})
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:  # each first in turn
                started = time.perf_counter()
                result = await clients[name].call_tool("echo__echo", {"text": "x"})
                elapsed = (time.perf_counter() - started) * 1000
                assert not result.is_error
                if index >= WARMUP:
                    samples[name].append(elapsed)
        cpu.update({name: cpu[name] + cpu_seconds(pid) for name, pid in pids.items()})
    return samples


def in_process_us(sink: Sink, runs: int = 20_000, traced: int = 1000) -> dict[str, float]:
    """The work itself, timed in one process without the network's noise: µs per call for the metrics, and for the
    two spans a call makes (the SDK's server and client spans, the traceparent injected, the gateway's attributes)
    exported over OTLP/HTTP to the sink, the export flushed within the time (`traced` calls: within the exporter's
    queue, so that no span is dropped)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.propagate import inject
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind

    from mcpkit_runtime.gateway.metrics import GatewayMetrics
    from mcpkit_runtime.gateway.observe import Observer

    health = {"servers": {"echo": {"restarts": 0, "state": "ready"}}, "clients": {"active": 1, "opened": 1, "reaped": 0}}  # fmt: skip
    metrics = Observer(tracing=False, metrics=GatewayMetrics(lambda: health))
    started = time.perf_counter()
    for _ in range(runs):
        metrics.tool_call("stdio", "echo", "echo__echo", "ok", 0.002)
    metrics_us = (time.perf_counter() - started) / runs * 1e6
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{sink.url}/v1/traces")))
    tracer, traces = provider.get_tracer("bench"), Observer(tracing=True, metrics=None)
    started = time.perf_counter()
    for _ in range(traced):
        with tracer.start_as_current_span("tools/call echo__echo", kind=SpanKind.SERVER):
            with tracer.start_as_current_span("MCP send tools/call echo", kind=SpanKind.CLIENT):
                inject({})
            traces.tool_call("stdio", "echo", "echo__echo", "ok", 0.002)
    provider.force_flush()
    traces_us = (time.perf_counter() - started) / traced * 1e6
    provider.shutdown()
    return {"metrics_us_per_call": metrics_us, "traces_us_per_call": traces_us}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    sink = Sink()
    load_before = uptime()
    processes = {name: start(name, sink) for name in VARIANTS}
    try:
        cpu: dict[str, float] = {}
        urls = {name: url for name, (_, url) in processes.items()}
        samples = anyio.run(paired, urls, {name: p.pid for name, (p, _) in processes.items()}, cpu)
        scraped = urllib.request.urlopen(f"{processes['metrics'][1]}/metrics", timeout=10).read().decode()
    finally:
        for process, _ in processes.values():
            process.terminate()
            process.wait(timeout=30)
    load_after = uptime()
    results: dict[str, Any] = {"calls": CALLS}
    for name in VARIANTS:
        differences = [mine - off for mine, off in zip(samples[name], samples["off"], strict=True)]
        results[name] = {
            "p50_ms": percentile(samples[name], 50),
            "p99_ms": percentile(samples[name], 99),
            "paired_added_median_ms": statistics.median(differences),
            # the gateway process's own CPU per call: what the work costs, whatever the machine's load
            "gateway_cpu_ms_per_call": cpu[name] * 1000 / CALLS,
        }
    results["in_process"] = in_process_us(sink)
    results |= {
        "spans_exported_bytes": sink.bytes,
        "exports": sink.posts,
        "metrics_counted_calls": "echo__echo" in scraped,
        "load_before": load_before,
        "load_after": load_after,
        "cpus": os.cpu_count(),
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    table = Table(
        "figure", "value", title="Traces and metrics on vs off, a call through the gateway over HTTP"
    )
    for key, value in results.items():
        shown = {k: round(v, 3) for k, v in value.items()} if isinstance(value, dict) else value
        table.add_row(key, str(shown))
    Console().print(table)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--downstream"]:
        downstream()
    elif sys.argv[1:2] == ["--gateway"]:
        gateway(int(sys.argv[2]), sys.argv[3] == "1")
    else:
        main()
