"""`kit gateway --http` in front of the analyst's real image: once its container runs, a handshake-era client's call
is answered by the gateway's HTTP front (gateway.front_http) in one JSON body, which the SDK's own path never
sends for a session's call (it streams), with the same message the SDK's path answers; and the official client is answered."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

import anyio
import httpx2
from mcp import Client

from kit.image.builder import BuildResult
from kit.project.settings import Settings

HANDSHAKE = "2025-11-25"
POST = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
QUERY = {"query": "SELECT count(*) FROM products"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _call(request_id: int, **meta: Any) -> dict[str, Any]:
    params = {"name": "analyst__run_sql", "arguments": QUERY} | ({"_meta": meta} if meta else {})
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


async def _session(http_client: httpx2.AsyncClient, url: str) -> dict[str, str]:
    initialize = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}  # fmt: skip
    opened = await http_client.post(url, json=initialize, headers=POST)
    headers = {**POST, "Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": HANDSHAKE}
    await http_client.post(
        url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers
    )
    return headers


def _message(response: httpx2.Response) -> Any:
    if response.headers["content-type"] == "application/json":
        return response.json()
    (data,) = [line[6:] for line in response.text.split("\r\n") if line.startswith("data: ")]
    return json.loads(data)


def test_a_sessions_call_is_answered_by_the_gateways_http_front(
    analyst_image: BuildResult, kit_settings: Settings
) -> None:
    port = _free_port()
    env = {**os.environ, "KIT_PROJECT_DIR": str(kit_settings.project_dir), "KIT_BASE_IMAGE": kit_settings.base_image,
           "KIT_CACHE_DIR": str(kit_settings.cache_dir)}  # fmt: skip
    gateway = subprocess.Popen([sys.executable, "-m", "kit", "gateway", "--http", "--port", str(port), "analyst"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _healthy(url):
            assert gateway.poll() is None and time.monotonic() < deadline, (
                "the gateway did not answer /health"
            )
            time.sleep(0.2)

        async def calls() -> tuple[list[httpx2.Response], httpx2.Response, Any, int]:
            async with httpx2.AsyncClient(timeout=60) as http_client:
                headers = await _session(http_client, f"{url}/mcp")
                answers = []
                with anyio.fail_after(120):  # the container starts at the first call (or in the background)
                    while not answers or answers[-1].headers["content-type"] != "application/json":
                        answers.append(await http_client.post(f"{url}/mcp", json=_call(len(answers) + 1), headers=headers))  # fmt: skip
                through_sdk = await http_client.post(f"{url}/mcp", json=_call(99, progressToken="p"), headers=headers)  # fmt: skip
            async with Client(f"{url}/mcp", mode="legacy") as client:
                results = [await client.call_tool("analyst__run_sql", QUERY) for _ in range(5)]
            return answers, through_sdk, results[-1], len(results)

        answers, through_sdk, official, count = anyio.run(calls)
    finally:
        gateway.send_signal(signal.SIGINT)
        gateway.wait(timeout=60)
    direct = answers[-1]
    assert direct.status_code == 200 and direct.headers["mcp-session-id"]
    assert through_sdk.headers["content-type"] == "text/event-stream", "the SDK's path streams"
    direct_message, sdk_message = _message(direct), _message(through_sdk)
    assert direct_message["id"] == len(answers) and sdk_message["id"] == 99
    assert direct_message["result"] == sdk_message["result"], "the same answer either way"
    assert not official.is_error and count == 5
