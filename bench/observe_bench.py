"""What traces and metrics add to a call through the gateway: two gateways over streamable HTTP, one with both off,
one with traces (exported over OTLP/HTTP to a sink this script runs) and /metrics on, each in front of the same
small server over stdio (a process of its own, as a container would be, without Docker's noise). Paired: both
clients open at once, calls alternated, so the machine's load falls on both alike.

Prints a table and writes .bench/observe.json, with the machine's load before and after.
"""

from __future__ import annotations

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


def start(observed: bool, sink: Sink) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    if observed:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.url
    process = subprocess.Popen([sys.executable, __file__, "--gateway", str(port), "1" if observed else "0"], env=env,
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


async def paired(urls: dict[str, str]) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in urls}
    async with (
        Client(f"{urls['off']}/mcp", mode="legacy") as off,
        Client(f"{urls['on']}/mcp", mode="legacy") as on,
    ):
        clients = {"off": off, "on": on}
        for index in range(WARMUP + CALLS):
            order = ("off", "on") if index % 2 else ("on", "off")
            for name in order:
                started = time.perf_counter()
                result = await clients[name].call_tool("echo__echo", {"text": "x"})
                elapsed = (time.perf_counter() - started) * 1000
                assert not result.is_error
                if index >= WARMUP:
                    samples[name].append(elapsed)
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    sink = Sink()
    load_before = uptime()
    processes = {name: start(name == "on", sink) for name in ("off", "on")}
    try:
        samples = anyio.run(paired, {name: url for name, (_, url) in processes.items()})
        scraped = urllib.request.urlopen(f"{processes['on'][1]}/metrics", timeout=10).read().decode()
    finally:
        for process, _ in processes.values():
            process.terminate()
            process.wait(timeout=30)
    load_after = uptime()
    differences = [on - off for on, off in zip(samples["on"], samples["off"], strict=True)]
    results = {
        "calls": CALLS,
        "off_ms": {"p50": percentile(samples["off"], 50), "p99": percentile(samples["off"], 99)},
        "on_ms": {"p50": percentile(samples["on"], 50), "p99": percentile(samples["on"], 99)},
        "added_p50_ms": percentile(samples["on"], 50) - percentile(samples["off"], 50),
        "paired_difference_median_ms": statistics.median(differences),
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
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--downstream"]:
        downstream()
    elif sys.argv[1:2] == ["--gateway"]:
        gateway(int(sys.argv[2]), sys.argv[3] == "1")
    else:
        main()
