"""Soak: two hundred starts and stops of server containers through their generated configs, normal closes and
kills mixed, leave no kit container behind; a long-lived server's memory stays flat over ten thousand calls."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import docker
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from kit.containers.launch import stdio_params
from kit.identity import MANAGED, SERVER
from kit.image.builder import BuildResult

CYCLES = 200
CALLS = 10_000
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "soak", "version": "0"}}}  # fmt: skip


@pytest.fixture(scope="module")
def entries(
    server_images: list[BuildResult], kit_config: Callable[..., dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    return kit_config("analyst", "mailer", "--env", "MCP_RATE_LIMITS=*=1000000/min:1000000",
                      "--env", "MCP_SESSION_BUDGET=100000000")  # fmt: skip


def _cycle(entry: dict[str, Any], kill: bool) -> None:
    """Start the server as its client would, handshake, then close its stdin or kill the client outright."""
    process = subprocess.Popen(
        [entry["command"], *entry["args"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, **entry.get("env", {})}, start_new_session=True,
    )  # fmt: skip
    assert process.stdin and process.stdout
    try:
        process.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["id"] == 1
        if kill:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.stdin.close()
        process.wait(timeout=30)
    finally:
        for pipe in (process.stdin, process.stdout):
            if not pipe.closed:
                pipe.close()


def test_two_hundred_starts_and_stops_leave_no_container(
    entries: dict[str, Any], docker_client: docker.DockerClient
) -> None:
    rng = random.Random("soak")
    plan = [(entries[rng.choice(["analyst", "mailer"])], rng.random() < 0.5) for _ in range(CYCLES)]
    with ThreadPoolExecutor(
        2
    ) as pool:  # two clients at a time, as a desktop client starting its servers does
        list(pool.map(lambda step: _cycle(*step), plan))
    deadline = time.monotonic() + 60
    while (
        docker_client.containers.list(
            ignore_removed=True,
            all=True,
            filters={"label": [f"{MANAGED}=true", *os.environ["KIT_LABELS"].split(",")]},
        )
        and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    left = docker_client.containers.list(
        ignore_removed=True,
        all=True,
        filters={"label": [f"{MANAGED}=true", *os.environ["KIT_LABELS"].split(",")]},
    )
    assert not left, f"{len(left)} kit containers left after {CYCLES} cycles: {[c.status for c in left]}"


def test_a_long_lived_servers_memory_stays_flat_over_ten_thousand_calls(
    entries: dict[str, Any], docker_client: docker.DockerClient
) -> None:
    entry = entries["analyst"]
    params = stdio_params(entry["command"], entry["args"], entry["env"])
    queries = ["SELECT count(*) FROM orders", "SELECT city, count(*) FROM customers GROUP BY city",
               "SELECT id, email FROM customers ORDER BY id LIMIT 20", "SELECT * FROM products LIMIT 50"]  # fmt: skip

    async def session() -> list[float]:
        samples = []
        with open(os.devnull, "w") as devnull:
            async with Client(stdio_client(params, errlog=devnull), mode="legacy") as client:
                (container,) = docker_client.containers.list(
                    ignore_removed=True,
                    filters={"label": [f"{SERVER}=analyst", *os.environ["KIT_LABELS"].split(",")]},
                )
                for index in range(CALLS):
                    result = await client.call_tool("run_sql", {"query": queries[index % len(queries)]})
                    assert not result.is_error, result.content
                    if index + 1 in (1_000, 5_000, CALLS):
                        stats = await anyio.to_thread.run_sync(
                            lambda: container.stats(stream=False)["memory_stats"]
                        )
                        cache = stats.get("stats", {}).get("total_inactive_file", 0)
                        samples.append((stats["usage"] - cache) / 2**20)
        return samples

    after_1k, after_5k, after_10k = anyio.run(session)
    assert after_10k - after_5k < 8, "still growing in the second half"
    assert after_10k - after_1k < 16, (
        f"memory grew from {after_1k:.0f} to {after_10k:.0f} MiB over {CALLS} calls"
    )
