"""The gateway's Prometheus metrics, in a registry of its own (nothing process-wide):

mcpkit_gateway_tool_calls_total{server,tool,outcome}   tool calls by outcome (ok, error, refused_budget, refused_rate_limit, server_down)
mcpkit_gateway_tool_errors_total{server,tool}          calls whose outcome was not ok
mcpkit_gateway_tool_call_seconds{server,tool}          histogram of a call's duration in the gateway
mcpkit_gateway_server_restarts_total{server}           restarts of a server that died
mcpkit_gateway_server_ready{server}                    1 while a server is running and answering
mcpkit_gateway_clients                                 clients (sessions, or keys in the stateless era) held now
mcpkit_gateway_clients_opened_total / _reaped_total    clients seen, and forgotten after idling out

`tool` is the namespaced name (server__tool): only tools the gateway offers get that far, so the labels are bounded.
prometheus_client is imported when metrics are made, never while they are off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

# From a millisecond to a minute: a hop through the gateway, a query, a long tool.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GatewayMetrics:
    def __init__(self, health: Callable[[], dict[str, Any]]) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Histogram
        except ImportError:
            from mcpkit_runtime.gateway.observe import INSTALL_HINT, ObserveUnavailable

            raise ObserveUnavailable(f"metrics need prometheus-client; {INSTALL_HINT}") from None
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("server", "tool")
        self.calls = Counter("mcpkit_gateway_tool_calls", "Tool calls through the gateway, by outcome.",
                             (*labels, "outcome"), registry=self.registry)  # fmt: skip
        self.errors = Counter("mcpkit_gateway_tool_errors", "Tool calls whose outcome was not ok.", labels,
                              registry=self.registry)  # fmt: skip
        self.seconds = Histogram("mcpkit_gateway_tool_call_seconds", "A tool call's duration in the gateway.",
                                 labels, buckets=BUCKETS, registry=self.registry)  # fmt: skip
        self.registry.register(_HealthCollector(health))

    @classmethod
    def for_gateway(cls, gateway: Any) -> GatewayMetrics:
        return cls(gateway.health)

    def tool_call(self, server: str, tool: str, outcome: str, seconds: float) -> None:
        self.calls.labels(server, tool, outcome).inc()
        if outcome != "ok":
            self.errors.labels(server, tool).inc()
        self.seconds.labels(server, tool).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _HealthCollector:
    """What the gateway's health already counts (restarts, readiness, clients), read at each scrape."""

    def __init__(self, health: Callable[[], dict[str, Any]]) -> None:
        self.health = health

    def describe(self) -> list[Any]:
        return []  # unchecked: the names are fixed below and collide with nothing in the registry

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        health = self.health()
        restarts = CounterMetricFamily("mcpkit_gateway_server_restarts", "Restarts of a server that died.",
                                       labels=["server"])  # fmt: skip
        ready = GaugeMetricFamily(
            "mcpkit_gateway_server_ready", "1 while a server is running.", labels=["server"]
        )
        for name, server in health["servers"].items():
            restarts.add_metric([name], server["restarts"])
            ready.add_metric([name], 1 if server["state"] == "ready" else 0)
        clients = health["clients"]
        yield restarts
        yield ready
        yield GaugeMetricFamily(
            "mcpkit_gateway_clients", "Clients held now (sessions or keys).", clients["active"]
        )
        yield CounterMetricFamily("mcpkit_gateway_clients_opened", "Clients seen.", clients["opened"])
        yield CounterMetricFamily("mcpkit_gateway_clients_reaped", "Clients forgotten after idling out.",
                                  clients["reaped"])  # fmt: skip
