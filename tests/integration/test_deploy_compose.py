"""`kit deploy compose`, brought up for real with this machine's compose command: the gateway answers over HTTP with
its token and refuses without it, reaching the servers on their private network; its Prometheus metrics, turned on
in `.env` as an operator would, count the calls; brought down, nothing is left."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import docker
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from kit.cli import app
from kit.image.builder import BuildResult
from kit.project.settings import Settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def deployed(
    kit_settings: Settings, server_images: list[BuildResult], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("compose")
    port = _free_port()
    result = CliRunner().invoke(
        app, ["deploy", "compose", "analyst", "mailer", "--output", str(folder), "--port", str(port)],
        env={"KIT_PROJECT_DIR": str(kit_settings.project_dir), "KIT_BASE_IMAGE": kit_settings.base_image,
             "KIT_CACHE_DIR": str(kit_settings.cache_dir)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    project = f"mcpkit-test-{uuid.uuid4().hex[:8]}"
    compose = ["docker-compose", "-f", str(folder / "compose.yaml"), "-p", project]
    tokens = dict(line.split("=", 1) for line in (folder / ".env").read_text().splitlines())
    with (folder / ".env").open("a") as env_file:  # what an operator adds to see the gateway's metrics
        env_file.write("MCP_GATEWAY_METRICS=1\n")
    try:
        subprocess.run([*compose, "up", "-d"], check=True, capture_output=True, text=True, timeout=300)
        yield {"compose": compose, "project": project, "port": port, "token": tokens["MCPKIT_GATEWAY_TOKEN"]}
    finally:
        subprocess.run([*compose, "down", "-v", "--remove-orphans"], capture_output=True, timeout=300)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def test_the_gateway_answers_with_its_token_and_refuses_without_it(deployed: dict[str, Any]) -> None:
    port = deployed["port"]
    deadline = time.monotonic() + 120
    while not _healthy(port) and time.monotonic() < deadline:
        time.sleep(1)
    assert _healthy(port), subprocess.run(
        [*deployed["compose"], "logs", "--tail", "50"], capture_output=True, text=True
    ).stdout
    url = f"http://127.0.0.1:{port}/mcp"
    refused = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, timeout=10)
    assert refused.status_code == 401

    async def session() -> dict[str, Any]:
        http_client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {deployed['token']}"}, timeout=60)
        async with http_client, Client(streamable_http_client(url, http_client=http_client)) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            rows = await client.call_tool(
                "analyst__run_sql", {"query": "SELECT count(*) AS n FROM customers"}
            )
            health = json.loads((await client.read_resource("gateway://health")).contents[0].text)
        return {"tools": tools, "rows": rows, "health": health}

    seen = anyio.run(session)
    assert {"analyst__run_sql", "mailer__send_email"} <= set(seen["tools"])
    assert seen["rows"].structured_content["rows"] == [[2000]]
    assert {name: s["state"] for name, s in seen["health"]["servers"].items()} == {
        "analyst": "ready",
        "mailer": "ready",
    }

    assert httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 401
    scraped = httpx2.get(
        f"http://127.0.0.1:{port}/metrics",
        headers={"Authorization": f"Bearer {deployed['token']}"},
        timeout=10,
    )
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
    }
    labels = (("server", "analyst"), ("tool", "analyst__run_sql"))
    assert samples[("mcpkit_gateway_tool_calls_total", (("outcome", "ok"), *labels))] == 1
    assert samples[("mcpkit_gateway_server_ready", (("server", "mailer"),))] == 1


def test_brought_down_nothing_is_left(deployed: dict[str, Any], docker_client: docker.DockerClient) -> None:
    subprocess.run(
        [*deployed["compose"], "down", "-v", "--remove-orphans"], check=True, capture_output=True, timeout=300
    )
    label = {"label": f"com.docker.compose.project={deployed['project']}"}
    assert not docker_client.containers.list(ignore_removed=True, all=True, filters=label)
    assert not docker_client.networks.list(filters=label)
    assert not docker_client.volumes.list(filters=label)
