"""Rate limits (a token bucket per tool) and a per-session call budget, with costs: a tool can weigh more than one
call. The clock is injected, so tests need no sleeps.

Hand-rolled on purpose: the well-kept limiters (limits, pyrate-limiter) implement windows or leaky buckets behind
storage backends; a token bucket with a refusal that says how long to wait is a dozen lines and imports nothing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Clock = Callable[[], float]
_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`5/min`, `0.5/s`, `100/hour`, with an optional burst: `5/min:10` (default burst: one period's worth)."""
        match = re.fullmatch(r"\s*([\d.]+)\s*/\s*([a-z]+)\s*(?::\s*([\d.]+))?\s*", text)
        if not match or match.group(2) not in _UNITS:
            raise ValueError(
                f"invalid rate {text!r}: write COUNT/UNIT[:BURST], e.g. 5/min:10 (units: s, min, hour)"
            )
        count, unit, burst = float(match.group(1)), _UNITS[match.group(2)], match.group(3)
        return cls(per_second=count / unit, burst=float(burst) if burst else max(count, 1.0))


@dataclass
class TokenBucket:
    rate: Rate
    clock: Clock = time.monotonic
    _tokens: float = field(init=False)
    _updated: float = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._tokens = self.rate.burst
        self._updated = self.clock()

    def take(self, cost: float = 1.0) -> float:
        """0.0 when the call may go ahead (tokens taken); otherwise the seconds to wait before it could."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.rate.burst, self._tokens + (now - self._updated) * self.rate.per_second)
            self._updated = now
            if self._tokens >= cost:
                self._tokens -= cost
                return 0.0
            if self.rate.per_second <= 0 or cost > self.rate.burst:  # no wait would make room for it
                return float("inf")
            return (cost - self._tokens) / self.rate.per_second


@dataclass
class Budget:
    """Calls a session may make in its life, by cost."""

    limit: float
    spent: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def charge(self, cost: float) -> bool:
        with self._lock:
            if self.spent + cost > self.limit:
                return False
            self.spent += cost
            return True

    @property
    def remaining(self) -> float:
        return max(0.0, self.limit - self.spent)


@dataclass(frozen=True)
class Limits:
    """What a host limits (mcpkit_runtime.policy applies it), and how it names itself in a refusal (`where`: ""
    for a server, " at the gateway"). A server's rates are shared by its clients: they protect what its tools
    reach (a mail relay); the gateway's are each client's own."""

    rate_for: Callable[[str], Rate | None]
    cost_of: Callable[[str], float] = lambda _: 1.0
    budget: float | None = None
    idle_seconds: float = 900.0
    max_clients: int = 10_000
    rates_kept: Literal["per-client", "shared"] = "shared"
    where: str = ""
