"""Who is calling: the key that budgets and the gateway's rate limits are kept under, one per client, and the
bounded table that holds each client's state until it goes idle.

A client is, in order:
1. over HTTP with the handshake (protocol up to 2025-11-25): its session, the `Mcp-Session-Id` the server gave it;
2. over HTTP in the stateless era (2026-07-28, no session): the bearer token it presents (its fingerprint, never the
   token), or without a token the address it connects from; narrowed by the id it sends, when it sends one, in the
   `Mcp-Client-Id` header or under `io.mcpkit/clientId` in the request's `_meta`;
3. over stdio: the process (one client per process).
Clients that share a token (or an address) and send no id share one budget: give each its own token or id.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from mcpkit_runtime import sdk
from mcpkit_runtime.limits import Clock

CLIENT_HEADER = "mcp-client-id"
CLIENT_META_KEY = "io.mcpkit/clientId"
MAX_CLIENT_ID = 128  # characters of a client-supplied id kept in the key
T = TypeVar("T")


def fingerprint(token: str) -> str:
    """A token's identity in logs and keys: a short digest, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def client_key(ctx: Any, process: str) -> str:
    """The key of the client making the request `ctx` belongs to (see the module's docstring); `process` over stdio."""
    session = sdk.transport_session_id(ctx.session)
    if session:
        return session
    request = getattr(ctx, "request", None)
    headers: Mapping[str, str] | None = getattr(request, "headers", None)
    if headers is None:
        return process
    authorization = headers.get("authorization", "")
    if authorization.startswith("Bearer "):
        principal = f"token:{fingerprint(authorization[7:])}"
    else:
        peer = getattr(request, "client", None)
        principal = f"peer:{getattr(peer, 'host', None) or 'unknown'}"
    supplied = headers.get(CLIENT_HEADER) or _meta_id(getattr(ctx, "meta", None))
    return f"{principal}/{supplied[:MAX_CLIENT_ID]}" if supplied else principal


def _meta_id(meta: Any) -> str | None:
    value = meta.get(CLIENT_META_KEY) if isinstance(meta, Mapping) else getattr(meta, CLIENT_META_KEY, None)
    if value is None and meta is not None and hasattr(meta, "model_extra"):
        value = (meta.model_extra or {}).get(CLIENT_META_KEY)
    return value if isinstance(value, str) and value else None


class ClientTable(Generic[T]):
    """Each client's state, made on first use and forgotten once the client has been idle for `idle_seconds`, and
    at most `max_clients` of them (the least recently seen goes first): abandoned clients cost nothing for long."""

    def __init__(
        self,
        make: Callable[[], T],
        idle_seconds: float,
        max_clients: int = 10_000,
        clock: Clock = time.monotonic,
        on_drop: Callable[[T], None] | None = None,
    ) -> None:
        self._make = make
        self._on_drop = on_drop  # told of each entry forgotten, to release what it holds
        self.idle_seconds = idle_seconds
        self.max_clients = max_clients
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self.opened = 0
        self.reaped = 0

    def get(self, key: str) -> T:
        now = self._clock()
        self._reap(now)
        entry = self._entries.pop(key, None)
        if entry is None:
            entry = (now, self._make())
            self.opened += 1
        self._entries[key] = (now, entry[1])  # the most recently seen last
        while len(self._entries) > self.max_clients:
            self._drop()
        return entry[1]

    def _reap(self, now: float) -> None:
        while self._entries:
            seen, _ = next(iter(self._entries.values()))
            if now - seen < self.idle_seconds:
                return
            self._drop()

    def _drop(self) -> None:
        _, (_, value) = self._entries.popitem(last=False)
        self.reaped += 1
        if self._on_drop is not None:
            self._on_drop(value)

    def values(self) -> list[T]:
        return [value for _, value in self._entries.values()]

    def __len__(self) -> int:
        self._reap(self._clock())
        return len(self._entries)

    def figures(self) -> dict[str, int]:
        return {"active": len(self), "opened": self.opened, "reaped": self.reaped}
