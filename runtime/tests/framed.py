"""A real MCP server behind the gateway, in process, on a socket framed as the Docker engine frames an attached
container's output: the test plays the engine, so it sees every line the server is sent (the engine's own relay is
the one part this tier has not got; the integration tier starts real containers)."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio
from anyio.abc import SocketStream, UNIXSocketStream
from mcp import StdioServerParameters
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from mcpkit_runtime import sdk
from mcpkit_runtime.gateway.downstream import Downstream
from mcpkit_runtime.gateway.engine import ContainerTarget, _Streams


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


class _EngineSide:
    """The server's stdin and stdout as the engine relays them: lines in, stdout framed out. Every line the server
    is sent is kept."""

    def __init__(self, sock: SocketStream, seen: list[dict[str, Any]]) -> None:
        self.sock = sock
        self.seen = seen

    async def __aiter__(self) -> AsyncIterator[str]:
        pending = b""
        while True:
            try:
                pending += await self.sock.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                return
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self.seen.append(json.loads(line))
                yield line.decode()

    async def write(self, text: str) -> None:
        await self.sock.send(frame(1, text.encode()))

    async def flush(self) -> None:
        pass


@dataclass(frozen=True)
class FramedServer(ContainerTarget):
    """A container target whose engine is this test: `server` runs in this process behind the engine's framing."""

    server: Any = None
    seen: list[dict[str, Any]] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def transport(self, errlog: TextIO, raw: Any = None) -> AsyncIterator[Any]:
        engine_end, gateway_end = socket.socketpair()
        engine_sock = await UNIXSocketStream.from_socket(engine_end)
        sock = await UNIXSocketStream.from_socket(gateway_end)
        wire = _Streams(sock, errlog.fileno())
        if raw is not None:
            raw(wire.raw)

        async def engine() -> None:
            async with engine_sock:
                await sdk.serve_stdio_streams(sdk.lowlevel(self.server), _EngineSide(engine_sock, self.seen))

        async with anyio.create_task_group() as group:
            group.start_soon(engine)
            async with sock, wire.open() as streams:
                yield streams
            group.cancel_scope.cancel()


def framed(name: str, server: MCPServer) -> tuple[Downstream, list[dict[str, Any]]]:
    target = FramedServer("image", {}, StdioServerParameters(command="false"), server=server)
    return Downstream(name, target), target.seen


def alpha() -> MCPServer:
    server = MCPServer("alpha", version="1.0")
    server.cancelled = anyio.Event()  # type: ignore[attr-defined]
    server.waiting = anyio.Event()  # type: ignore[attr-defined]

    @server.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool()
    def fail(reason: str) -> str:
        raise ToolError(f"failed: {reason}")

    @server.tool()
    async def slow(steps: int, ctx: Context) -> str:
        for step in range(steps):
            await ctx.report_progress(step + 1, steps, f"step {step + 1}")
        return "done"

    @server.tool()
    async def wait_forever() -> str:
        server.waiting.set()  # type: ignore[attr-defined]
        try:
            await anyio.sleep_forever()
        finally:
            server.cancelled.set()  # type: ignore[attr-defined]
        return "never"

    return server
