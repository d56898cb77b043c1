"""One server behind the gateway: started as a hardened container (or reached at a URL), its MCP client kept open,
restarted with back-off when it dies, and its health reported.

The gateway is the client here, so the server may speak either protocol era: the SDK client probes for the
stateless 2026-07-28 protocol and falls back to the handshake.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import CONNECTION_CLOSED

T = TypeVar("T")
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds before each successive restart


class DownstreamDown(Exception):
    """The server is not reachable now; the message says what happens next. `died`: it was running and its
    connection closed (the call may or may not have reached it)."""

    def __init__(self, message: str, *, died: bool = False) -> None:
        super().__init__(message)
        self.died = died


@dataclass
class Health:
    name: str
    state: str = "stopped"  # stopped, starting, ready, restarting, failed
    started_at: float | None = None
    restarts: int = 0
    last_error: str | None = None
    protocol: str | None = None
    calls: int = 0
    errors: int = 0


@dataclass(frozen=True)
class HttpTarget:
    """A server already running behind streamable HTTP, with the bearer token it wants."""

    url: str
    token: str | None = None

    @contextlib.asynccontextmanager
    async def transport(self) -> AsyncIterator[Any]:
        """The SDK's streamable HTTP transport with the token's header, on an HTTP client closed with it (the SDK
        leaves a client it is given open)."""
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        # The SDK's own defaults for its transports: a response stream may stay open for minutes.
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http_client,
            streamable_http_client(self.url, http_client=http_client) as streams,
        ):
            yield streams


@dataclass
class Downstream:
    name: str
    # A container started by its `docker run` command line over stdio; or a running server over streamable HTTP;
    # or a server object in this process (the SDK's in-memory transport, for tests without Docker).
    target: StdioServerParameters | HttpTarget | Any
    health: Health = field(init=False)

    def __post_init__(self) -> None:
        self.health = Health(self.name)
        self._client: Client | None = None
        self._lock = anyio.Lock()
        self._stop: anyio.Event | None = None
        self._failures = 0
        self._errlog = open(os.devnull, "w")  # noqa: SIM115 - for the gateway's life; the servers' stderr is their audit

    async def client(self, group: anyio.abc.TaskGroup) -> Client:
        """The open client, starting the server first when it is not running (lazily, or again after a crash)."""
        async with self._lock:
            if self._client is not None:
                return self._client
            if self._failures:
                delay = BACKOFF[min(self._failures, len(BACKOFF)) - 1]
                self.health.state = "restarting"
                await anyio.sleep(delay)
            self.health.state = "starting"
            ready = anyio.Event()
            failure: list[BaseException] = []
            group.start_soon(self._hold, ready, failure)
            await ready.wait()
            if self._client is None:
                self._failures += 1
                self.health.state = "failed"
                self.health.last_error = _describe(failure[0]) if failure else "it did not start"
                raise DownstreamDown(
                    f"{self.name} did not start ({self.health.last_error}); the gateway retries"
                )
            return self._client

    async def _hold(self, ready: anyio.Event, failure: list[BaseException]) -> None:
        """Keep the client open until stop() or the connection dies; the next call starts it again."""
        self._stop = anyio.Event()
        try:
            async with self._connect() as client:
                self._client = client
                self.health.state, self.health.started_at = "ready", time.time()
                self.health.protocol = client.protocol_version
                ready.set()
                await self._stop.wait()
        except anyio.get_cancelled_exc_class():
            raise
        except (
            BaseException
        ) as exc:  # a server that dies takes its client with it; what happened is its health
            failure.append(exc)
            self.health.last_error = _describe(exc)
        finally:
            self._client = None
            ready.set()

    def _connect(self) -> Client:
        if isinstance(self.target, StdioServerParameters):
            return Client(stdio_client(self.target, errlog=self._errlog), mode="auto")
        if isinstance(self.target, HttpTarget):
            return Client(self.target.transport(), mode="auto")
        return Client(self.target, mode="auto")

    async def call(self, group: anyio.abc.TaskGroup, action: Callable[[Client], Awaitable[T]]) -> T:
        """Run `action` on the server's client. A dead connection becomes DownstreamDown (the server restarts on the
        next call); the server's own protocol errors pass through as they are."""
        client = await self.client(group)
        self.health.calls += 1
        try:
            result = await action(client)
        except MCPError as exc:
            self.health.errors += 1
            if exc.error.code != CONNECTION_CLOSED:
                raise
            self._died("its connection closed")
            raise DownstreamDown(
                f"{self.name} stopped answering and is being restarted; call again", died=True
            ) from None
        self._failures = 0
        return result

    def _died(self, why: str) -> None:
        self._failures += 1
        self.health.restarts += 1
        self.health.state, self.health.last_error = "restarting", why
        self._client = None
        if self._stop is not None:
            self._stop.set()

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        self.health.state = "stopped"
        with contextlib.suppress(OSError):
            self._errlog.close()


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:300]
