"""Streamable HTTP as servers and the gateway serve it: a real uvicorn on a free loopback port, the SDK's HTTP client."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer

from mcpkit_runtime import http, http_guard, sdk
from mcpkit_runtime.clients import CLIENT_META_KEY
from mcpkit_runtime.config import RuntimeConfig
from mcpkit_runtime.gateway.downstream import HttpTarget
from mcpkit_runtime.server import Runtime

TOKEN = "t0ken-for-tests"
Serve = Callable[..., str]  # the serve_asgi fixture (conftest.py)


def _server() -> MCPServer:
    server = Runtime("probe", "1.0").create_server()

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server


@pytest.fixture
def served(serve_asgi: Serve) -> str:
    app = http.app(
        sdk.lowlevel(_server()),
        host="127.0.0.1",
        token=TOKEN,
        health=lambda: {"server": "probe"},
        allowed_hosts=[],
    )
    return serve_asgi(app)


def test_health_answers_without_the_token(served: str) -> None:
    with urllib.request.urlopen(f"{served}/health", timeout=5) as response:
        assert response.status == 200 and b'"server": "probe"' in response.read().replace(b'":"', b'": "')


def test_mcp_needs_the_bearer_token(served: str) -> None:
    request = urllib.request.Request(
        f"{served}/mcp", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    refused.value.close()  # the error holds the response's connection
    assert refused.value.code == 401

    async def call() -> object:
        async with Client(HttpTarget(f"{served}/mcp", TOKEN).transport()) as client:
            return (await client.call_tool("echo", {"text": "hi"})).structured_content

    assert anyio.run(call) == {"result": "hi"}


def test_the_gateways_http_client_is_closed_with_its_connection(
    served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[httpx2.AsyncClient] = []

    class Recorded(httpx2.AsyncClient):  # the real client, remembered
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            opened.append(self)

    monkeypatch.setattr(httpx2, "AsyncClient", Recorded)

    async def connect_twice() -> None:
        for _ in range(2):  # as the gateway does when a server restarts
            async with Client(HttpTarget(f"{served}/mcp", TOKEN).transport()) as client:
                await client.list_tools()

    anyio.run(connect_twice)
    assert len(opened) == 2 and all(c.is_closed for c in opened)


def test_beyond_loopback_a_token_is_required() -> None:
    with pytest.raises(ValueError, match="needs a bearer token"):
        http.app(sdk.lowlevel(_server()), host="0.0.0.0", token=None, health=dict, allowed_hosts=[])


def test_beyond_loopback_on_every_interface_the_host_names_must_be_allowed() -> None:
    with pytest.raises(ValueError, match="MCP_HTTP_ALLOWED_HOSTS"):
        http.app(sdk.lowlevel(_server()), host="0.0.0.0", token="t", health=dict, allowed_hosts=[])
    with pytest.raises(ValueError, match="--allow-host"):
        names = http.OptionNames(token="--token-env NAME", allowed_hosts="--allow-host")
        http.app(
            sdk.lowlevel(_server()), host="0.0.0.0", token="t", health=dict, allowed_hosts=[], names=names
        )
    with pytest.raises(ValueError, match="--token-env NAME"):
        http.app(
            sdk.lowlevel(_server()), host="10.1.2.3", token=None, health=dict, allowed_hosts=[], names=names
        )


def _get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        refused.close()
        return refused.code


def test_health_is_behind_the_host_and_origin_checks(serve_asgi: Serve) -> None:
    app = http.app(sdk.lowlevel(_server()), host="127.0.0.1", token=None, health=dict,
                   allowed_hosts=["mcp.example:*"])  # fmt: skip
    url = serve_asgi(app)
    assert _get(f"{url}/health", {}) == 200
    assert _get(f"{url}/health", {"Host": "mcp.example:8765"}) == 200, "an allowed host"
    assert _get(f"{url}/health", {"Host": "rebound.attacker.example"}) == 421, "DNS rebinding"
    assert _get(f"{url}/health", {"Origin": "http://attacker.example"}) == 403


def _raw(url: str, data: bytes, wait: float = 30.0) -> bytes:
    """What the server sends back on a raw connection after `data`, until it closes (or `wait` runs out)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as connection:
        connection.sendall(data)
        received = b""
        with contextlib.suppress(TimeoutError):
            while chunk := connection.recv(4096):
                received += chunk
        return received


def test_a_request_whose_headers_never_end_is_cut_off(serve_asgi: Serve) -> None:
    app = http.app(sdk.lowlevel(_server()), host="127.0.0.1", token=None, health=dict, allowed_hosts=[])
    url = serve_asgi(app, http=http_guard.header_deadline(0.5))
    # Half a request line, then silence: the connection is closed by the server (recv returns), not held.
    assert _raw(url, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") == b""
    whole = f"GET /health HTTP/1.1\r\nHost: {url.removeprefix('http://')}\r\nConnection: close\r\n\r\n"
    assert b"200 OK" in _raw(url, whole.encode())


def test_a_body_that_does_not_arrive_is_answered_408(serve_asgi: Serve) -> None:
    app = http.app(sdk.lowlevel(_server()), host="127.0.0.1", token=None, health=dict, allowed_hosts=[],
                   body_seconds=0.5)  # fmt: skip
    url = serve_asgi(app)
    head = (f"POST /mcp HTTP/1.1\r\nHost: {url.removeprefix('http://')}\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\nContent-Length: 400\r\n\r\n").encode()  # fmt: skip
    assert _raw(url, head + b'{"jsonrpc": "2.0", ').startswith(b"HTTP/1.1 408")


def _budgeted() -> MCPServer:
    server = Runtime("probe", "1.0", RuntimeConfig(session_budget=2)).create_server()

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server


async def _calls(url: str, mode: str, headers: dict[str, str], count: int) -> list[bool]:
    """Whether each of `count` calls was refused, for one client (its id in `_meta` when it is "meta:ID")."""
    meta = {CLIENT_META_KEY: headers.pop("meta")} if "meta" in headers else None
    async with (
        httpx2.AsyncClient(headers=headers) as http_client,
        Client(streamable_http_client(f"{url}/mcp", http_client=http_client), mode=mode) as client,  # type: ignore[arg-type]
    ):
        return [
            bool((await client.call_tool("echo", {"text": "x"}, meta=meta)).is_error) for _ in range(count)
        ]


def test_each_client_has_its_own_budget_in_both_protocol_eras(serve_asgi: Serve) -> None:
    app = http.app(sdk.lowlevel(_budgeted()), host="127.0.0.1", token=f"{TOKEN},other-token", health=dict,
                   allowed_hosts=[])  # fmt: skip
    url = serve_asgi(app)
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    async def clients() -> dict[str, list[bool]]:
        seen: dict[str, list[bool]] = {}

        async def one(label: str, mode: str, headers: dict[str, str], count: int = 3) -> None:
            seen[label] = await _calls(url, mode, headers, count)

        async with anyio.create_task_group() as group:
            group.start_soon(one, "legacy A", "legacy", bearer)  # a session each
            group.start_soon(one, "legacy B", "legacy", bearer)
            group.start_soon(one, "stateless ann", "auto", {**bearer, "Mcp-Client-Id": "ann"})
            group.start_soon(one, "stateless bob", "auto", {**bearer, "meta": "bob"})  # its id in _meta
            group.start_soon(one, "other token", "auto", {"Authorization": "Bearer other-token"})
        seen["same token, no id"] = await _calls(url, "auto", bearer, 2)
        seen["same token, no id, again"] = await _calls(url, "auto", bearer, 1)
        return seen

    seen = anyio.run(clients)
    for label in ("legacy A", "legacy B", "stateless ann", "stateless bob", "other token"):
        assert seen[label] == [False, False, True], f"{label}: two calls, then its own budget is spent"
    assert seen["same token, no id"] == [False, False] and seen["same token, no id, again"] == [True], (
        "clients that share a token and send no id share its budget (documented)"
    )


def test_an_idle_session_is_closed_and_its_budget_forgotten(serve_asgi: Serve) -> None:
    runtime = Runtime("probe", "1.0", RuntimeConfig(session_budget=5, session_idle_seconds=2.0))
    server = runtime.create_server()

    @server.tool()
    def echo(text: str) -> str:
        return text

    app = http.app(sdk.lowlevel(server), host="127.0.0.1", token=None, health=dict, allowed_hosts=[],
                   idle_seconds=2.0)  # fmt: skip
    url = serve_asgi(app)
    opened = []
    for _ in range(20):  # clients that open a session, call once and go away without ending it
        session = _initialize(url)
        _post(url, session, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                             "params": {"name": "echo", "arguments": {"text": "x"}}})  # fmt: skip
        opened.append(session)
    assert runtime.policy.clients.figures()["opened"] == 20 and _health(url)["http_sessions"] > 0
    deadline = time.monotonic() + 30
    while _health(url)["http_sessions"]:
        assert time.monotonic() < deadline, "the idle sessions were never closed"
        time.sleep(0.2)
    assert all(_post(url, s, {"jsonrpc": "2.0", "id": 3, "method": "ping"}) == 404 for s in opened)
    assert len(runtime.policy.clients) == 0 and runtime.policy.clients.figures()["reaped"] == 20


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
        return dict(json.loads(response.read()))


def _post(url: str, session: str | None, message: dict[str, object]) -> int:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-11-25", **({"Mcp-Session-Id": session} if session else {})}  # fmt: skip
    request = urllib.request.Request(f"{url}/mcp", data=json.dumps(message).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as refused:
        refused.close()
        return refused.code


def _initialize(url: str) -> str:
    message = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "abandoning", "version": "1"}}}  # fmt: skip
    request = urllib.request.Request(f"{url}/mcp", data=json.dumps(message).encode(), headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        session = response.headers["Mcp-Session-Id"]
    assert session
    _post(url, session, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    return str(session)
