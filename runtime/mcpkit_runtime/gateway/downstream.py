"""One server behind the gateway: started as a hardened container (or reached at a URL), its MCP client kept open,
restarted when it dies, and its health reported.

A server that cannot start fails calls at once with the reason it gave (the last lines of its stderr) while it is
retried in the background with back-off; nobody waits for a server that is known to be failing. The tools it
recorded at build time, when the gateway was given them, are offered before it has started.

The gateway is the client here, so the server may speak either protocol era: the SDK client probes for the
stateless 2026-07-28 protocol and falls back to the handshake.
"""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import anyio
import mcp_types as types
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import CONNECTION_CLOSED

from mcpkit_runtime import sdk
from mcpkit_runtime.gateway import engine
from mcpkit_runtime.gateway.engine import ContainerTarget
from mcpkit_runtime.gateway.raw import RawChannel, RawClosed
from mcpkit_runtime.gateway.stderr import StderrTail

T = TypeVar("T")
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds before each successive retry of a failing server
State = Literal["stopped", "starting", "ready", "restarting", "failed"]


class DownstreamDown(Exception):
    """The server is not reachable now; the message says why and what happens next. `died`: it was running and its
    connection closed (the call may or may not have reached it)."""

    def __init__(self, message: str, *, died: bool = False) -> None:
        super().__init__(message)
        self.died = died


@dataclass
class Health:
    name: str
    state: State = "stopped"
    started_at: float | None = None
    restarts: int = 0
    last_error: str | None = None
    next_retry_at: float | None = None  # epoch seconds, while failed
    protocol: str | None = None
    via: str | None = None  # a container's: "engine-api" (no client process) or "docker-cli"
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
    # A container started through the engine's API (or its `docker run` line where that is out of reach); or any
    # command over stdio; or a running server over streamable HTTP; or a server object in this process (the SDK's
    # in-memory transport, for tests without Docker).
    target: ContainerTarget | StdioServerParameters | HttpTarget | Any
    # Its tools as recorded when its image was built (tools/list is answered from them until it runs).
    recorded: list[types.Tool] | None = None
    start_seconds: float = 60.0  # a start that has not answered by then is stopped and counts as failed
    health: Health = field(init=False)

    def __post_init__(self) -> None:
        self.health = Health(self.name)
        self._client: Client | None = None
        self._lock = anyio.Lock()
        self._stop: anyio.Event | None = None
        self._failures = 0
        self._retrying = False
        self._stderr: StderrTail | None = None  # a container's, from its first start
        self._raw: RawChannel | None = (
            None  # the wire's own channel, when the transport offers one (gateway.raw)
        )
        # Called by the gateway each time the server starts: its lists may have changed.
        self.on_ready: Callable[[Downstream], Coroutine[Any, Any, None]] | None = None

    @property
    def ready(self) -> bool:
        return self._client is not None

    async def client(self, group: anyio.abc.TaskGroup) -> Client:
        """The open client; starting the server first when it has not started (or died since), but never waiting
        for a server whose last start failed: that is an immediate DownstreamDown with its reason."""
        if self._client is not None:
            return self._client
        if self._failures and (self.health.state == "failed" or self._retrying):
            raise DownstreamDown(self._down_message())
        async with self._lock:
            if self._client is None and not self._retrying and self.health.state != "failed":
                await self._start(group)
        if self._client is None:
            raise DownstreamDown(self._down_message())
        return self._client

    def start_in_background(self, group: anyio.abc.TaskGroup) -> None:
        async def start() -> None:
            with contextlib.suppress(DownstreamDown):
                await self.client(group)

        group.start_soon(start)

    async def _start(self, group: anyio.abc.TaskGroup) -> None:
        """One attempt; on failure the state says why and a retry is scheduled with back-off."""
        self.health.state = "starting"
        if self._stderr is None and isinstance(self.target, ContainerTarget | StdioServerParameters):
            self._stderr = StderrTail()
        if self._stderr:
            self._stderr.trim()
        mark = self._stderr.mark if self._stderr else 0
        ready = anyio.Event()
        failure: list[BaseException] = []
        holding = anyio.CancelScope()
        group.start_soon(self._hold, ready, failure, holding)
        with anyio.move_on_after(self.start_seconds):
            await ready.wait()
        if not ready.is_set():  # a server that hangs while starting is stopped, and is a failure like another
            holding.cancel()
            failure.append(TimeoutError(f"it did not answer within {self.start_seconds:g} s"))
            await ready.wait()
        if isinstance(self.target, ContainerTarget):
            self.health.via = engine.path()
        if self._client is not None:
            self._failures = 0
            self.health.next_retry_at = None
            if self.on_ready is not None:
                group.start_soon(self.on_ready, self)
            return
        reason = await anyio.to_thread.run_sync(self._stderr.reason, mark) if self._stderr else None
        cause = _describe(failure[0]) if failure else "it did not start"
        self._failures += 1
        delay = BACKOFF[min(self._failures, len(BACKOFF)) - 1]
        self.health.state, self.health.last_error = "failed", reason or cause
        self.health.next_retry_at = time.time() + delay
        group.start_soon(self._retry_after, delay, group)

    async def _retry_after(self, delay: float, group: anyio.abc.TaskGroup) -> None:
        await anyio.sleep(delay)
        async with self._lock:
            self._retrying = True
            try:
                await self._start(group)
            finally:
                self._retrying = False

    async def _hold(
        self, ready: anyio.Event, failure: list[BaseException], holding: anyio.CancelScope
    ) -> None:
        """Keep the client open until stop() or the connection dies; the next call starts it again."""
        self._stop = anyio.Event()
        with holding:
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
            ) as exc:  # a server that dies takes its client with it; its health says what happened
                failure.append(exc)
                if self.health.state == "ready":
                    self.health.last_error = _describe(exc)
            finally:
                self._client = None
                self._raw = None
                ready.set()

    def _connect(self) -> Client:
        if isinstance(self.target, ContainerTarget):
            assert self._stderr is not None
            return Client(self.target.transport(self._stderr.stream, raw=self._offered), mode="auto")
        if isinstance(self.target, StdioServerParameters):
            assert self._stderr is not None
            return Client(stdio_client(self.target, errlog=self._stderr.stream), mode="auto")
        if isinstance(self.target, HttpTarget):
            return Client(self.target.transport(), mode="auto")
        return Client(self.target, mode="auto")

    def _offered(self, raw: RawChannel) -> None:
        self._raw = raw

    @property
    def raw_ready(self) -> bool:
        """Running, on a wire that takes requests directly (call_tool_raw then answers without the SDK's session)."""
        return self._client is not None and self._raw is not None and not self._raw.closed

    async def call_tool_raw(self, name: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """tools/call written to the server's wire directly (gateway.raw), stamped as the SDK's session stamps
        every request on its era: the server's response message (its `result` or its `error`, as it gave it), or
        None when this server has no such wire now (the caller uses the SDK's session: `call`). A dead connection
        is DownstreamDown, as in `call`."""
        client, raw = self._client, self._raw
        stamp = sdk.request_stamp(client.session) if client is not None else None
        if raw is None or raw.closed or stamp is None:
            return None
        data: dict[str, Any] = {"method": "tools/call", "params": {"name": name, "arguments": arguments}}
        stamp(data, {})
        self._count_call()
        try:
            answer = await raw.request(data["method"], data["params"])
        except RawClosed:
            self.health.errors += 1
            raise self._gone() from None
        if "error" in answer:
            self.health.errors += 1
        return answer

    def _count_call(self) -> None:
        self.health.calls += 1
        if self._stderr and not self.health.calls % 1000:
            self._stderr.trim()

    def _gone(self) -> DownstreamDown:
        """The connection died under a call: the server restarts on the next one."""
        self._died()
        return DownstreamDown(f"{self.name} stopped answering and is being restarted; call again", died=True)

    def _down_message(self) -> str:
        retry = self.health.next_retry_at
        when = f"next try in {max(0.0, retry - time.time()):.0f} s" if retry else "trying again now"
        return f"{self.name} cannot start: {self.health.last_error or 'it did not start'} ({when})"

    async def call(self, group: anyio.abc.TaskGroup, action: Callable[[Client], Awaitable[T]]) -> T:
        """Run `action` on the server's client. A dead connection becomes DownstreamDown (the server restarts on the
        next call); the server's own protocol errors pass through as they are."""
        client = await self.client(group)
        self._count_call()
        try:
            return await action(client)
        except MCPError as exc:
            self.health.errors += 1
            if exc.error.code != CONNECTION_CLOSED:
                raise
            raise self._gone() from None

    def _died(self) -> None:
        tail = self._stderr.since(0)[-1:] if self._stderr else []
        self.health.restarts += 1
        self.health.state = "restarting"
        self.health.last_error = f"its connection closed{': ' + tail[0] if tail else ''}"
        self._client = None
        if self._stop is not None:
            self._stop.set()

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        self.health.state = "stopped"
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:300]
