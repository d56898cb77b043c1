"""Faults, each with real containers: the database down at start and restarted mid-session, a runaway query, a huge
result, a client that dies or hangs up mid-call, a container killed mid-call, a full or unwritable outbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import docker
import pytest
from mcp import Client, MCPError, StdioServerParameters
from typer.testing import CliRunner

from kit.cli import app
from kit.containers.launch import stdio_params
from kit.identity import SERVER
from kit.image.builder import BuildResult
from kit.project.settings import Settings

WAIT = 30.0
CONNECTION_LOST = (MCPError, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError)


def _entry(kit_settings: Settings, name: str, tmp_path: Path, *options: str) -> dict[str, Any]:
    path = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}.json"
    result = CliRunner().invoke(
        app,
        ["config", name, "--output", str(path), *options],
        env={"KIT_PROJECT_DIR": str(kit_settings.project_dir), "KIT_BASE_IMAGE": kit_settings.base_image},
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(path.read_text())["mcpServers"][name])


def _params(entry: dict[str, Any]) -> StdioServerParameters:
    return stdio_params(entry["command"], entry["args"], entry.get("env"))


def _containers(client: docker.DockerClient, name: str) -> list[Any]:
    return client.containers.list(
        ignore_removed=True,
        all=True,
        filters={"label": [f"{SERVER}={name}", *os.environ["KIT_LABELS"].split(",")]},
    )


def _until(condition: Callable[[], bool], seconds: float = WAIT) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _text(result: Any) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


# -- the database ---------------------------------------------------------------------------------------------------


@pytest.fixture
def flaky_database(
    docker_client: docker.DockerClient, postgres_container: Any, session_labels: dict[str, str]
) -> Iterator[dict[str, Any]]:
    """A PostgreSQL of its own on a private network, not started yet: the test starts and stops it."""
    suffix = uuid.uuid4().hex[:8]
    network = docker_client.networks.create(f"mcpkit-test-{suffix}", internal=True, labels=session_labels)
    database = docker_client.containers.create(
        postgres_container.image, name=f"mcpkit-test-db-{suffix}", network=network.name, labels=session_labels,
        environment={"POSTGRES_USER": "owner", "POSTGRES_PASSWORD": "owner-pw", "POSTGRES_DB": "shop"},
    )  # fmt: skip

    def start() -> None:
        database.start()
        # over TCP: the first start runs a socket-only server while it creates the database
        probe = ["pg_isready", "-h", "127.0.0.1", "-U", "owner", "-d", "shop"]
        ready = _until(lambda: database.exec_run(probe).exit_code == 0)
        assert ready, database.logs().decode()[-2000:]

    def psql(sql: str) -> str:
        result = database.exec_run(["psql", "-h", "/tmp", "-U", "owner", "-d", "shop", "-At", "-c", sql])
        assert result.exit_code == 0, result.output
        return result.output.decode().strip()

    try:
        yield {"network": network.name, "url": f"postgresql://owner:owner-pw@{database.name}:5432/shop",
               "start": start, "stop": lambda: database.stop(timeout=5), "psql": psql}  # fmt: skip
    finally:
        database.remove(force=True)
        network.remove()


def test_the_database_down_at_start_then_restarted_mid_session_needs_no_server_restart(
    analyst_image: BuildResult, kit_settings: Settings, flaky_database: dict[str, Any], tmp_path: Path
) -> None:
    db = flaky_database
    entry = _entry(kit_settings, "analyst", tmp_path, "--network", db["network"],
                   "--env", f"ANALYST_DATABASE_URL={db['url']}", "--env", "ANALYST_STATEMENT_TIMEOUT=3")  # fmt: skip
    count = {"query": "SELECT count(*) AS n FROM items"}

    async def session() -> list[Any]:
        seen = []
        with anyio.fail_after(120):
            async with Client(_params(entry), mode="legacy") as client:
                seen.append(await client.call_tool("run_sql", count))  # down at start
                await anyio.to_thread.run_sync(db["start"])
                await anyio.to_thread.run_sync(
                    db["psql"], "CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 42)"
                )
                seen.append(await client.call_tool("run_sql", count))  # up: answered, same process
                await anyio.to_thread.run_sync(db["stop"])
                seen.append(await client.call_tool("run_sql", count))  # gone mid-session
                seen.append(await client.call_tool("run_sql", count))
                await anyio.to_thread.run_sync(db["start"])
                seen.append(await client.call_tool("run_sql", count))  # back
                # a runaway query: stopped by the server-side timeout, and gone from the database afterwards
                seen.append(
                    await client.call_tool(
                        "run_sql", {"query": "SELECT count(*) FROM generate_series(1, 1000000000)"}
                    )
                )
        return seen

    down, up, gone, still_gone, back, runaway = anyio.run(session)
    for refused in (down, gone, still_gone):
        message = _text(refused)
        assert refused.is_error and ("try again" in message or "connect" in message), message
        assert "Traceback" not in _text(refused) and "owner-pw" not in _text(refused)
    assert not up.is_error and up.structured_content["rows"] == [[42]]
    assert not back.is_error and back.structured_content["rows"] == [[42]]
    assert runaway.is_error and "ran longer than 3 s" in _text(runaway)
    active = db["psql"](
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mcpkit-analyst' AND state = 'active'"
    )
    assert active == "0", "the runaway query still runs in the database"


def test_a_huge_result_is_capped_without_the_server_growing(
    analyst_image: BuildResult, kit_settings: Settings, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    entry = _entry(kit_settings, "analyst", tmp_path)

    async def session() -> tuple[list[Any], list[int]]:
        memory, results = [], []
        async with Client(_params(entry), mode="legacy") as client:
            (container,) = [c for c in _containers(docker_client, "analyst") if c.status == "running"]
            memory.append(container.stats(stream=False)["memory_stats"]["usage"])
            for query in ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
                          "SELECT *, printf('%.*c', 50000, 'x') AS pad FROM page_views",
                          "SELECT printf('%.*c', 200000000, 'x') AS big"):  # fmt: skip
                results.append(await client.call_tool("run_sql", {"query": query}))
            memory.append(container.stats(stream=False)["memory_stats"]["usage"])
        return results, memory

    (endless, wide, big), (before, after) = anyio.run(session)
    assert endless.structured_content["truncated"] and endless.structured_content["row_count"] == 100
    assert wide.structured_content["truncated"] and "size cap" in wide.structured_content["note"]
    assert big.is_error and "result cap" in _text(big)
    assert after - before < 64 * 2**20, f"the server grew by {(after - before) / 2**20:.0f} MiB"


# -- the ends of the pipe -------------------------------------------------------------------------------------------

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "faults", "version": "0"}}}  # fmt: skip
SLOW_CALL = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
    "name": "run_sql", "arguments": {"query": "SELECT count(*) FROM page_views a, page_views b"}}}  # fmt: skip


def _raw_client(entry: dict[str, Any]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [entry["command"], *entry["args"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, **entry.get("env", {})}, start_new_session=True,
    )  # fmt: skip
    assert process.stdin and process.stdout
    process.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1
    process.stdin.write(
        (json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n").encode()
    )
    process.stdin.write((json.dumps(SLOW_CALL) + "\n").encode())
    process.stdin.flush()
    return process


@pytest.mark.parametrize("how", ["client killed", "stdin closed"])
def test_a_client_that_dies_or_hangs_up_mid_call_leaves_no_container(
    analyst_image: BuildResult,
    kit_settings: Settings,
    docker_client: docker.DockerClient,
    tmp_path: Path,
    how: str,
) -> None:
    entry = _entry(kit_settings, "analyst", tmp_path, "--env", "ANALYST_STATEMENT_TIMEOUT=60")
    process = _raw_client(entry)
    assert _until(lambda: any(c.status == "running" for c in _containers(docker_client, "analyst")), 10)
    time.sleep(1)  # the call is running
    if how == "client killed":
        os.killpg(process.pid, signal.SIGKILL)
    else:
        assert process.stdin is not None
        process.stdin.close()
    started = time.monotonic()
    try:
        assert _until(lambda: not _containers(docker_client, "analyst"), WAIT), (
            "the container outlived its client"
        )
        assert time.monotonic() - started < 15
    finally:
        process.wait(timeout=WAIT)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


def test_a_container_killed_mid_call_is_an_error_for_the_client_not_a_hang(
    analyst_image: BuildResult, kit_settings: Settings, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    entry = _entry(kit_settings, "analyst", tmp_path, "--env", "ANALYST_STATEMENT_TIMEOUT=60")

    async def session() -> BaseException | None:
        with anyio.fail_after(40):  # a hang fails the test instead of stalling it
            async with Client(_params(entry), mode="legacy") as client:
                (container,) = [c for c in _containers(docker_client, "analyst") if c.status == "running"]

                async def kill_soon() -> None:
                    await anyio.sleep(1.5)
                    await anyio.to_thread.run_sync(container.kill)

                async with anyio.create_task_group() as group:
                    group.start_soon(kill_soon)
                    try:
                        await client.call_tool("run_sql", SLOW_CALL["params"]["arguments"])
                    except CONNECTION_LOST as exc:
                        return exc
        return None

    started = time.monotonic()
    try:
        failure = anyio.run(session)
    except BaseExceptionGroup as group:  # the transport's task group reports the broken pipe
        assert group.subgroup(TimeoutError) is None, "the client hung"
        _, unexpected = group.split(CONNECTION_LOST)
        assert unexpected is None, f"not the lost connection expected: {unexpected!r}"
        failure = group
    assert not isinstance(failure, TimeoutError), "the client hung"
    assert failure is not None, "the call returned normally from a killed container"
    assert time.monotonic() - started < 40
    assert _until(lambda: not _containers(docker_client, "analyst"), WAIT)


# -- the mailer's outbox --------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_outbox(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB filesystem, owned by the server's user: full after a message or two."""
    folder = tmp_path / "full-outbox"
    folder.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,uid=10001,gid=10001", "tmpfs", str(folder)], check=True
    )
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def _send(entry: dict[str, Any], count: int, body: str) -> list[Any]:
    async def session() -> list[Any]:
        async with Client(_params(entry), mode="legacy") as client:
            return [await client.call_tool("send_email", {"to": ["a@example.com"], "subject": f"n{i}", "body": body})
                    for i in range(count)]  # fmt: skip

    return anyio.run(session)


def test_a_full_outbox_is_a_clear_error_with_nothing_half_written(
    mailer_image: BuildResult, kit_settings: Settings, tiny_outbox: Path, tmp_path: Path
) -> None:
    entry = _entry(kit_settings, "mailer", tmp_path, "--volume", f"outbox={tiny_outbox}")
    results = _send(entry, 4, "x" * 40_000)
    failed = [r for r in results if r.is_error]
    assert failed and all("the outbox volume is full; the message was not sent" in _text(r) for r in failed)
    files = sorted(p.name for p in tiny_outbox.iterdir())
    assert len(files) == len(results) - len(failed) and all(f.endswith(".eml") for f in files), files


def test_an_outbox_the_server_cannot_write_is_a_clear_error(
    mailer_image: BuildResult, kit_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "root-owned"
    folder.mkdir(mode=0o755)  # owned by root: the server's user may not write there
    entry = _entry(kit_settings, "mailer", tmp_path, "--volume", f"outbox={folder}")
    (result,) = _send(entry, 1, "hello")
    assert result.is_error and "the outbox is not writable by the server; the message was not sent" in _text(
        result
    )
    assert list(folder.iterdir()) == []
