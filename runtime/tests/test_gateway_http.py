"""The gateway for many clients over streamable HTTP, served by a real uvicorn, its clients the SDK's own, three
servers behind it (in process: the SDK's in-memory transport stands in for their containers): each client with its
own budget and rate limits in either protocol era, and nothing kept once clients go away, however many."""

from __future__ import annotations

import gc
import json
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context, MCPServer

from mcpkit_runtime import http
from mcpkit_runtime.gateway.downstream import Downstream
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.settings import GatewaySettings

Serve = Callable[..., str]  # the serve_asgi fixture (conftest.py)
IDLE = 3.0  # seconds before an idle client is forgotten: short for the test, long for a loaded machine
HANDSHAKE = "2025-11-25"


def _servers() -> list[Downstream]:
    alpha, beta, gamma = MCPServer("alpha"), MCPServer("beta"), MCPServer("gamma")

    @alpha.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @beta.tool()
    def echo(text: str) -> str:
        return text

    @gamma.tool()
    def ping() -> str:
        return "pong"

    return [Downstream("alpha", alpha), Downstream("beta", beta), Downstream("gamma", gamma)]


def _gateway_url(serve_asgi: Serve, idle: float = IDLE) -> tuple[Gateway, str]:
    settings = GatewaySettings.model_validate(
        {"session-budget": 5, "rate-limits": {"alpha__add": "3/min:3"}, "session-idle-seconds": idle}
    )
    gateway = Gateway(_servers(), settings)
    app = http.app(gateway.server(), host="127.0.0.1", token=None, health=gateway.health, allowed_hosts=[],
                   idle_seconds=idle)  # fmt: skip
    return gateway, serve_asgi(app)


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
        return dict(json.loads(response.read()))


def _until_forgotten(url: str) -> dict[str, Any]:
    """/health once no client and no HTTP session is left (the idle timeout has passed for all)."""
    deadline = time.monotonic() + 60
    while True:
        health = _health(url)
        if not health["http_sessions"] and not health["clients"]["active"]:
            return health
        assert time.monotonic() < deadline, f"clients or sessions were kept: {health}"
        time.sleep(0.2)


def test_ten_clients_on_three_servers_each_with_its_own_budget_and_limits(serve_asgi: Serve) -> None:
    gateway, url = _gateway_url(serve_asgi)

    async def one(index: int, seen: dict[int, list[str]]) -> None:
        # Half keep a session (the handshake era), half are stateless (2026-07-28) and say who they are.
        mode, headers = ("legacy", {}) if index % 2 else ("auto", {"Mcp-Client-Id": f"client-{index}"})
        outcomes = []
        async with (
            httpx2.AsyncClient(headers=headers) as http_client,
            Client(streamable_http_client(f"{url}/mcp", http_client=http_client), mode=mode) as client,  # type: ignore[arg-type]
        ):
            calls = [("alpha__add", {"a": 1, "b": index})] * 4 + [("beta__echo", {"text": "x"})] * 2
            for name, arguments in [*calls, ("gamma__ping", {})]:
                result = await client.call_tool(name, arguments)
                text = result.content[0].text if result.is_error else "ok"
                outcomes.append("rate" if "rate limit" in text else "budget" if "budget" in text else text)
        seen[index] = outcomes

    async def clients() -> dict[int, list[str]]:
        seen: dict[int, list[str]] = {}
        async with anyio.create_task_group() as group:
            for index in range(10):
                group.start_soon(one, index, seen)
        return seen

    seen = anyio.run(clients)
    expected = ["ok", "ok", "ok", "rate", "ok", "ok", "budget"]  # 3 of 4 adds (3/min), then 5 calls that ran
    assert seen == dict.fromkeys(range(10), expected), "one client's calls never spend another's allowance"
    health = _until_forgotten(url)
    assert health["clients"] == {"active": 0, "opened": 10, "reaped": 10}
    assert {name: s["state"] for name, s in health["servers"].items()} == dict.fromkeys(
        ("alpha", "beta", "gamma"), "ready"
    )
    assert gateway.policy.clients.figures()["opened"] == 10


async def _abandon(url: str, count: int) -> None:
    """`count` clients that open a session, make one call and vanish without ending it, 20 at a time."""
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "abandoning", "version": "1"}}}  # fmt: skip
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "beta__echo", "arguments": {"text": "x"}}}  # fmt: skip
    limit = anyio.Semaphore(20)

    async def one(http_client: httpx2.AsyncClient) -> None:
        async with limit:
            opened = await http_client.post(f"{url}/mcp", json=initialize, headers=headers)
            session = {
                **headers,
                "Mcp-Session-Id": opened.headers["mcp-session-id"],
                "MCP-Protocol-Version": HANDSHAKE,
            }
            await http_client.post(
                f"{url}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session
            )
            answered = await http_client.post(f"{url}/mcp", json=call, headers=session)
            assert answered.status_code == 200 and '"isError":false' in answered.text.replace(" ", "")

    async with httpx2.AsyncClient(timeout=30) as http_client, anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one, http_client)


def test_memory_stays_flat_over_thousands_of_abandoned_sessions(serve_asgi: Serve) -> None:
    # Idle: longer than a session's three requests take on a loaded machine.
    _, url = _gateway_url(serve_asgi, idle=5.0)
    held = []
    for _ in range(2):
        anyio.run(_abandon, url, 1000)
        assert _health(url)["http_sessions"] > 0, "they are open until they idle out"
        _until_forgotten(url)
        gc.collect()
        held.append(_resident_bytes())
    health = _health(url)
    assert health["clients"]["opened"] == 2000 and health["clients"]["reaped"] == 2000
    growth = held[1] - held[0]
    print(
        f"resident after 1,000 / 2,000 abandoned sessions: {held[0] / 2**20:.1f} / {held[1] / 2**20:.1f} MiB"
    )
    # Kept sessions cost about 40 MiB a thousand (issue 19); what the first thousand freed, the second reuses.
    assert growth < 16 * 2**20, f"the second thousand sessions left {growth / 2**20:.1f} MiB behind"


def _resident_bytes() -> int:
    """This process's resident memory (the gateway serves in it), from /proc (Linux, as the machines here)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def test_a_per_client_server_gives_each_client_its_own_instance_stopped_when_it_idles(
    serve_asgi: Serve,
) -> None:
    ended: list[bool] = []

    @asynccontextmanager
    async def instance(_: MCPServer) -> AsyncIterator[dict[str, int]]:
        try:
            yield {"count": 0}  # the instance's own state, as a stateful server's process holds it
        finally:
            ended.append(True)

    counter = MCPServer("counter", lifespan=instance)

    @counter.tool()
    def count(ctx: Context) -> int:
        state = ctx.request_context.lifespan_context
        state["count"] += 1
        return int(state["count"])

    settings = GatewaySettings.model_validate(
        {"isolation": {"counter": "per-client"}, "session-idle-seconds": IDLE}
    )
    gateway = Gateway([Downstream("counter", counter), *_servers()[:1]], settings)
    app = http.app(gateway.server(), host="127.0.0.1", token=None, health=gateway.health, allowed_hosts=[],
                   idle_seconds=IDLE)  # fmt: skip
    url = serve_asgi(app)

    async def one(name: str, seen: dict[str, list[Any]]) -> None:
        async with (
            httpx2.AsyncClient(headers={"Mcp-Client-Id": name}) as http_client,
            Client(streamable_http_client(f"{url}/mcp", http_client=http_client)) as client,  # type: ignore[arg-type]
        ):
            seen[name] = [(await client.call_tool("counter__count", {})).structured_content for _ in range(3)]

    async def clients() -> dict[str, list[Any]]:
        seen: dict[str, list[Any]] = {}
        async with anyio.create_task_group() as group:
            for name in ("ann", "bob"):
                group.start_soon(one, name, seen)
        return seen

    counts = [{"result": n} for n in (1, 2, 3)]
    assert anyio.run(clients) == {"ann": counts, "bob": counts}, "neither sees the other's calls"
    deadline = time.monotonic() + 60
    while (instances := _health(url)["per_client_instances"]["counter"])["active"]:
        assert time.monotonic() < deadline, f"instances kept: {instances}"
        time.sleep(0.2)
    assert instances == {"active": 0, "opened": 2, "reaped": 2}
    while len(ended) < 2:
        assert time.monotonic() < deadline, "a forgotten instance was left running"
        time.sleep(0.1)
