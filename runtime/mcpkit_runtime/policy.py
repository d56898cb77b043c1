"""The refusal policy both hosts apply to a tool call, the runtime's server and its gateway: per client (see
mcpkit_runtime.clients) a budget of calls by cost, and per tool a token bucket, kept per client or shared by every
client of the host. A refusal is a tool error the model reads: it says what ran out and when, or whether, to retry.
A refused call spends nothing: no budget, no token.

One client's state is forgotten once it has been idle long enough, and the least recently seen goes first past the
table's bound (mcpkit_runtime.clients.ClientTable).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcpkit_runtime.clients import ClientTable
from mcpkit_runtime.limits import Budget, Clock, Limits, Rate, TokenBucket


@dataclass(frozen=True)
class Refusal:
    outcome: str  # the audit line's: refused_budget, refused_rate_limit, invalid_arguments, ...
    message: str  # the model's: what ran out, and when or how to retry
    retry_after_seconds: float | None = None

    @property
    def facts(self) -> dict[str, Any]:
        """What the audit line says of it beside its outcome."""
        if self.retry_after_seconds is None:
            return {}
        return {"retry_after_seconds": round(self.retry_after_seconds, 3)}


@dataclass
class ClientState:
    budget: Budget | None
    buckets: dict[str, TokenBucket] = field(default_factory=dict)  # per tool, when rates are kept per client


class Policy:
    def __init__(self, limits: Limits, clock: Clock = time.monotonic) -> None:
        self.limits = limits
        budget = limits.budget
        self.clients: ClientTable[ClientState] = ClientTable(
            lambda: ClientState(Budget(budget) if budget is not None else None),
            limits.idle_seconds,
            limits.max_clients,
            clock,
        )
        self._clock = clock
        self._shared: dict[str, TokenBucket] = {}  # per tool, when rates are shared by every client
        self._rates: dict[str, Rate | None] = {}  # per tool, looked up once

    def admit(
        self, tool: str, client: str, check: Callable[[], Refusal | None] | None = None
    ) -> Refusal | None:
        """Why `client` may not call `tool` now, or None: the call goes ahead and is charged. `check` is the host's
        own (a tool's arguments), made after the budget and before the rate, so a call it refuses costs nothing."""
        state = self.clients.get(client)
        cost = self.limits.cost_of(tool)
        if state.budget is not None and state.budget.remaining < cost:
            return self._over_budget(tool, state.budget, cost)
        refusal = check() if check is not None else None
        if refusal is None:
            refusal = self._rate_refusal(tool, state, cost)
        if refusal is None and state.budget is not None and not state.budget.charge(cost):
            refusal = self._over_budget(tool, state.budget, cost)  # spent meanwhile by a concurrent call
        return refusal

    def remaining(self, client: str) -> float | None:
        """What is left of `client`'s budget (None: unlimited)."""
        budget = self.clients.get(client).budget
        return None if budget is None else budget.remaining

    def _over_budget(self, tool: str, budget: Budget, cost: float) -> Refusal:
        return Refusal(
            "refused_budget",
            f"this client's budget of {budget.limit:g} calls{self.limits.where} is used up ({tool} costs "
            f"{cost:g}). Finish with what you have; a new session starts a new budget.",
        )

    def _rate_refusal(self, tool: str, state: ClientState, cost: float) -> Refusal | None:
        if tool not in self._rates:
            self._rates[tool] = self.limits.rate_for(tool)
        rate = self._rates[tool]
        if rate is None:
            return None
        if cost > rate.burst:  # no wait would make room for it
            return Refusal(
                "refused_rate_limit",
                f"{tool} costs {cost:g} but its rate limit{self.limits.where} allows bursts of {rate.burst:g} "
                "at most, so it can never run under these settings. Do without it, and tell the operator: the "
                "burst must be at least the tool's cost.",
            )
        buckets = state.buckets if self.limits.rates_kept == "per-client" else self._shared
        bucket = buckets.get(tool)
        if bucket is None:
            bucket = buckets[tool] = TokenBucket(rate, self._clock)
        wait = bucket.take(cost)
        if wait <= 0:
            return None
        whose = " for this client" if self.limits.rates_kept == "per-client" else ""
        return Refusal(
            "refused_rate_limit",
            f"rate limit for {tool}{self.limits.where}{whose}: at most {rate.per_second * 60:g} calls per minute "
            f"(bursts of {rate.burst:g}). Try again in {wait:.1f} s.",
            retry_after_seconds=wait,
        )
