"""The gateway's direct path for tools/call, in process: the gateway served over the runtime's guarded stdio on OS
pipes (its stdio front, gateway.front), a real MCP server behind it on a socket framed as the Docker engine frames
an attached container's output (the engine's own relay is the one part this tier has not got; the integration tier
starts real containers). The test plays the engine, so it sees every line the server is sent."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import mcp_types as types
import pytest
from anyio.abc import UNIXSocketStream
from framed import alpha, frame, framed
from mcp import Client
from mcp.shared.message import SessionMessage
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcpkit_runtime import sdk
from mcpkit_runtime.audit import AuditLog
from mcpkit_runtime.gateway.engine import _Streams
from mcpkit_runtime.gateway.front import DirectStdio
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.raw import PREFIX, RawChannel, RawClosed
from mcpkit_runtime.gateway.settings import GatewaySettings
from mcpkit_runtime.stdio import GuardedStdio

pytestmark = pytest.mark.anyio
INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _Client:
    """JSON-RPC lines to the gateway's stdin, answers read off its stdout, over OS pipes."""

    def __init__(self, to_gateway: int, from_gateway: int) -> None:
        self._to = to_gateway
        self._from = os.fdopen(from_gateway, "rb")
        self._ids = iter(range(1, 10_000))
        self.received: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        await anyio.to_thread.run_sync(os.write, self._to, (json.dumps(message) + "\n").encode())

    async def next(self) -> dict[str, Any]:
        with anyio.fail_after(30):  # a hang fails the test instead of stalling it
            line = await anyio.to_thread.run_sync(self._from.readline, abandon_on_cancel=True)
        self.received.append(json.loads(line))
        return self.received[-1]

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        while (answer := await self.next()).get("id") != request_id:
            pass
        return answer

    async def call(self, name: str, arguments: dict[str, Any], **meta: Any) -> dict[str, Any]:
        return await self.request("tools/call", {"name": name, "arguments": arguments} | ({"_meta": meta} if meta else {}))  # fmt: skip


@contextlib.asynccontextmanager
async def _served(gateway: Gateway) -> AsyncIterator[tuple[_Client, DirectStdio]]:
    """The gateway served as `kit gateway` serves it over stdio, the handshake done and every server started."""
    to_read, to_write = os.pipe()
    from_read, from_write = os.pipe()
    wire_in, wire_out = os.fdopen(to_read, "rb"), os.fdopen(from_write, "wb")
    guarded = GuardedStdio(wire_in, wire_out, 1 << 20)
    front = gateway.stdio_front(guarded)
    client = _Client(to_write, from_read)
    async with anyio.create_task_group() as group:
        group.start_soon(sdk.serve_stdio_streams, gateway.server(), front)
        assert "result" in await client.request("initialize", INITIALIZE["params"])
        await client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        await client.request("tools/list", {})
        for downstream in gateway.downstreams.values():
            with anyio.fail_after(30):
                while not downstream.raw_ready:
                    await client.request("ping", {})
                    await anyio.sleep(0.01)
        yield client, front
        group.cancel_scope.cancel()  # never the end of stdin: that ends the process (mcpkit_runtime.stdio)
    for each in (wire_in, wire_out, client._from):
        each.close()
    os.close(to_write)


def _calls_seen(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in seen if m.get("method") == "tools/call"]


async def test_a_call_is_answered_on_the_direct_path_with_its_audit_line_and_without_the_servers_stamp() -> (
    None
):
    stream = io.StringIO()
    downstream, seen = framed("alpha", alpha())
    gateway = Gateway([downstream], GatewaySettings(), audit=AuditLog("mcpkit-gateway", "1.0", stream=stream))
    async with _served(gateway) as (client, front):
        answer = await client.call("alpha__add", {"a": 2, "b": 3})
        failed = await client.call("alpha__fail", {"reason": "because"})
        protocol = downstream.health.protocol
    assert answer["result"]["structuredContent"] == {"result": 5} and not answer["result"].get("isError")
    assert front.answered == 2, "both were answered by the gateway's front, not the SDK's session"
    (call, fail) = _calls_seen(seen)
    assert str(call["id"]).startswith(PREFIX) and str(fail["id"]).startswith(PREFIX), (
        "on the gateway's own wire"
    )
    assert call["params"]["name"] == "add" and call["params"]["arguments"] == {"a": 2, "b": 3}
    if protocol in MODERN_PROTOCOL_VERSIONS:
        assert types.PROTOCOL_VERSION_META_KEY in call["params"]["_meta"], "stamped as the SDK stamps its era"
    assert types.SERVER_INFO_META_KEY not in (answer["result"].get("_meta") or {}), (
        "the server's stamp is dropped"
    )
    assert failed["result"]["isError"] and failed["result"]["content"][0]["text"].startswith(
        "Error executing tool alpha__fail"
    ), "a tool error names the tool as the caller knows it"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(a["event"], a["tool"], a["outcome"], a["arguments"]) for a in lines] == [
        ("tool_call", "alpha__add", "ok", {"a": 2, "b": 3}),
        ("tool_call", "alpha__fail", "error", {"reason": "because"}),
    ]


async def test_rate_limits_and_the_budget_hold_on_the_direct_path() -> None:
    stream = io.StringIO()
    downstream, seen = framed("alpha", alpha())
    settings = GatewaySettings(**{"rate-limits": {"alpha__add": "2/min:2"}, "session-budget": 3})
    gateway = Gateway([downstream], settings, audit=AuditLog("mcpkit-gateway", "1.0", stream=stream))
    async with _served(gateway) as (client, front):
        answers = [await client.call("alpha__add", {"a": 1, "b": 1}) for _ in range(3)]
        fail = await client.call("alpha__fail", {"reason": "x"})
        budget = await client.call("alpha__fail", {"reason": "x"})
    assert front.answered == 5
    assert [a["result"].get("isError", False) for a in answers] == [False, False, True]
    assert "rate limit for alpha__add at the gateway" in answers[2]["result"]["content"][0]["text"]
    assert fail["result"]["isError"] and "failed: x" in fail["result"]["content"][0]["text"]
    assert "budget of 3 calls at the gateway is used up" in budget["result"]["content"][0]["text"]
    assert len(_calls_seen(seen)) == 3, "a refused call never reaches the server"
    outcomes = [json.loads(line)["outcome"] for line in stream.getvalue().splitlines()]
    assert outcomes == ["ok", "ok", "refused_rate_limit", "error", "refused_budget"]


async def test_a_callers_cancellation_reaches_the_server_with_the_id_it_saw_and_the_call_is_not_answered() -> (
    None
):
    server = alpha()
    downstream, seen = framed("alpha", server)
    stream = io.StringIO()
    gateway = Gateway([downstream], GatewaySettings(), audit=AuditLog("mcpkit-gateway", "1.0", stream=stream))
    async with _served(gateway) as (client, front):
        await client.send({"jsonrpc": "2.0", "id": 77, "method": "tools/call",
                           "params": {"name": "alpha__wait_forever", "arguments": {}}})  # fmt: skip
        with anyio.fail_after(30):
            await server.waiting.wait()  # type: ignore[attr-defined]
        await client.send(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 77}}
        )
        with anyio.fail_after(30):
            await server.cancelled.wait()  # type: ignore[attr-defined]
        after = await client.call("alpha__add", {"a": 1, "b": 2})
    (call, _) = _calls_seen(seen)
    cancels = [m for m in seen if m.get("method") == "notifications/cancelled"]
    assert [c["params"]["requestId"] for c in cancels] == [call["id"]], "the server is told, with its own id"
    assert str(call["id"]).startswith(PREFIX)
    assert front.answered == 1, "the cancelled call is never answered"
    assert 77 not in [m.get("id") for m in client.received]
    assert after["result"]["structuredContent"] == {"result": 3}, "and the gateway keeps serving"
    assert [json.loads(line)["tool"] for line in stream.getvalue().splitlines()] == [
        "alpha__wait_forever",
        "alpha__add",
    ]


async def test_what_is_not_the_hot_case_goes_through_the_sdk() -> None:
    downstream, seen = framed("alpha", alpha())
    gateway = Gateway([downstream], GatewaySettings(deny={"alpha": ["fail"]}))
    async with _served(gateway) as (client, front):
        progress = await client.call("alpha__slow", {"steps": 2}, progressToken="p1")
        unknown = await client.call("alpha__fail", {"reason": "hidden"})
        invalid = await client.request("tools/call", {"name": 5})
    assert progress["result"]["content"][0]["text"] == "done"
    notes = [m for m in client.received if m.get("method") == "notifications/progress"]
    assert [n["params"]["progress"] for n in notes] == [1, 2], "progress reaches the caller"
    assert unknown["error"]["code"] == types.INVALID_PARAMS and "unknown tool" in unknown["error"]["message"]
    assert "error" in invalid
    assert front.answered == 0
    (slow,) = _calls_seen(seen)
    assert isinstance(slow["id"], int) and "progressToken" in slow["params"]["_meta"], (
        "the SDK's session sent it"
    )


async def test_the_wire_answers_its_own_requests_and_leaves_the_rest_to_the_sdk() -> None:
    engine_end, gateway_end = socket.socketpair()
    with open(os.devnull, "w") as errlog, engine_end:
        sock = await UNIXSocketStream.from_socket(gateway_end)
        streams = _Streams(sock, errlog.fileno())
        async with sock, streams.open() as (read, _write):
            channel: RawChannel = streams.raw
            async with anyio.create_task_group() as group:
                answers: list[dict[str, Any]] = []

                async def ask() -> None:
                    answers.append(await channel.request("tools/call", {"name": "t", "arguments": {}}))

                group.start_soon(ask)
                sent = json.loads(await anyio.to_thread.run_sync(engine_end.recv, 4096))
                note = b'{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n'
                reply = json.dumps({"jsonrpc": "2.0", "id": sent["id"], "result": {"content": []}}).encode()
                engine_end.sendall(frame(1, reply + b"\n" + note))
            passed = await read.receive()
            with anyio.fail_after(10):
                async with anyio.create_task_group() as group:
                    failures: list[BaseException] = []

                    async def ask_then_lose() -> None:
                        try:
                            await channel.request("tools/call", {"name": "t", "arguments": {}})
                        except RawClosed as exc:
                            failures.append(exc)

                    group.start_soon(ask_then_lose)
                    await anyio.to_thread.run_sync(engine_end.recv, 4096)
                    engine_end.shutdown(socket.SHUT_WR)  # the container is gone before it answers
    assert sent["method"] == "tools/call" and sent["id"].startswith(PREFIX)
    assert answers == [{"jsonrpc": "2.0", "id": sent["id"], "result": {"content": []}}]
    assert isinstance(passed, SessionMessage) and passed.message.method == "notifications/tools/list_changed"  # type: ignore[union-attr]
    assert len(failures) == 1 and channel.closed


async def test_the_sdks_handler_calls_on_the_wire_too_unless_progress_is_asked() -> None:
    """What the HTTP front runs (the SDK's server and the gateway's handler): the server's wire, not its session."""
    downstream, seen = framed("alpha", alpha())
    gateway = Gateway([downstream], GatewaySettings())
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with Client(gateway.server()) as client:
        with anyio.fail_after(30):
            while not downstream.raw_ready:
                await anyio.sleep(0.01)
        added = await client.call_tool("alpha__add", {"a": 2, "b": 2})
        failed = await client.call_tool("alpha__fail", {"reason": "r"})
        slow = await client.call_tool("alpha__slow", {"steps": 2}, progress_callback=on_progress)
    assert added.structured_content == {"result": 4} and not (added.meta or {}).get("alpha")
    assert failed.is_error and failed.content[0].text.startswith("Error executing tool alpha__fail")  # type: ignore[union-attr]
    assert not slow.is_error and progress == [1, 2]
    ids = [m["id"] for m in _calls_seen(seen)]
    assert [str(i).startswith(PREFIX) for i in ids] == [True, True, False]
