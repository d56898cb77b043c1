"""The gateway's limits, per client (mcpkit_runtime.clients says who a client is): a budget of calls through the
gateway, and per namespaced tool a rate limit. One client's burst never spends another's allowance; a client that
goes idle is forgotten (its state is freed), and so is the least recently seen past the table's bound."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mcpkit_runtime.clients import ClientTable
from mcpkit_runtime.gateway.settings import GatewaySettings
from mcpkit_runtime.limits import Budget, Clock, Rate, TokenBucket


@dataclass
class ClientLimits:
    budget: Budget | None
    buckets: dict[str, TokenBucket] = field(default_factory=dict)  # per namespaced tool


class GatewayPolicy:
    def __init__(self, settings: GatewaySettings, clock: Clock = time.monotonic) -> None:
        self.settings = settings
        limit = settings.session_budget
        self.clients: ClientTable[ClientLimits] = ClientTable(
            lambda: ClientLimits(Budget(limit) if limit is not None else None),
            settings.session_idle_seconds,
            settings.max_clients,
            clock,
        )
        self._clock = clock
        self._rates: dict[str, tuple[str, Rate] | None] = {}  # per namespaced tool, parsed once

    def refusal(self, tool: str, client: str) -> str | None:
        """Why `client` may not call the namespaced `tool` now, or None (and the call is counted)."""
        limits = self.clients.get(client)
        if limits.budget is not None and not limits.budget.charge(1):
            return (
                f"{tool}: this client's budget of {limits.budget.limit:g} calls through the gateway is used up; "
                "a new session starts a new budget"
            )
        if tool not in self._rates:
            self._rates[tool] = self.settings.rate_for(tool)
        rate = self._rates[tool]
        if rate is None:
            return None
        bucket = limits.buckets.get(tool)
        if bucket is None:
            bucket = limits.buckets[tool] = TokenBucket(rate[1], self._clock)
        wait = bucket.take()
        if wait > 0:
            return f"{tool}: rate limit at the gateway ({rate[0]}) for this client; try again in {wait:.1f} s"
        return None
