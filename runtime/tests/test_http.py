"""Streamable HTTP as servers and the gateway serve it: a real uvicorn on a free loopback port, the SDK's HTTP client."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.server.mcpserver import MCPServer

from mcpkit_runtime import http, sdk
from mcpkit_runtime.gateway.downstream import HttpTarget
from mcpkit_runtime.server import Runtime

TOKEN = "t0ken-for-tests"


def _server() -> MCPServer:
    server = Runtime("probe", "1.0").create_server()

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server


@pytest.fixture
def served() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = http.app(
        sdk.lowlevel(_server()),
        host="127.0.0.1",
        token=TOKEN,
        health=lambda: {"server": "probe"},
        allowed_hosts=[],
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


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
