"""The gateway over stdio, started by its generated client entry, in front of the analyst, the mailer and a
package-index server, each in its hardened container started through the engine's API (no docker client process):
namespaced tools called, resources read, progress from a job, a server killed mid-session restarted, and every
container gone when the client closes; tools listed from the record each image carries before any container runs;
a container that cannot start failing its calls with the reason it gave, while the others serve."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import anyio
import docker
import pytest
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from typer.testing import CliRunner

from kit.cli import app
from kit.containers import engine
from kit.containers.launch import docker_client_env, stdio_params
from kit.gateway.serve import GATEWAY_ENTRY, GATEWAY_LABEL, plan_gateway
from kit.identity import SERVER, TOOLS, image_tag, project_slug
from kit.image.base_image import BaseResult
from kit.project.servers import discover, select
from kit.project.settings import Settings, load_settings
from mcpkit_runtime.gateway.downstream import Downstream
from mcpkit_runtime.gateway.engine import ContainerTarget
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.settings import GatewaySettings

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def project(base_image: BaseResult, kit_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gateway")
    for name in ("analyst", "mailer"):
        shutil.copytree(
            REPO / "servers" / name, root / "servers" / name, ignore=shutil.ignore_patterns("tests")
        )
    shutil.copytree(REPO / "locks", root / "locks")
    env = {
        "KIT_PROJECT_DIR": str(root),
        "KIT_BASE_IMAGE": kit_settings.base_image,
        "KIT_CACHE_DIR": str(kit_settings.cache_dir),
    }
    for args in (["add", "mcp-server-time==2026.10.19"], ["build"]):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
    return root


def _containers(client: docker.DockerClient, labels: dict[str, str], *more: str) -> list[Any]:
    """This test's containers (the engine is shared: other sessions run gateways and analysts too)."""
    wanted = [GATEWAY_LABEL, *(f"{k}={v}" for k, v in labels.items()), *more]
    return client.containers.list(ignore_removed=True, all=True, filters={"label": wanted})


def _children(pid: int) -> list[str]:
    """The command names of the processes whose parent is `pid` (from /proc)."""
    names = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            text = stat.read_text()
            if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
                names.append(text[text.index("(") + 1 : text.rindex(")")])
    return names


def _gateway_pid() -> int:
    """The `kit gateway` this test's client started (a child of this process), which has become the runtime's
    gateway serving its plan."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            text = stat.read_text()
            own = int(text[text.rindex(")") + 2 :].split()[1]) == os.getpid()
            if own and b"mcpkit_runtime.gateway.plan" in (stat.parent / "cmdline").read_bytes():
                return int(stat.parent.name)
    raise AssertionError("no kit gateway under this test serving its plan")


def test_the_gateway_fronts_every_server_restarts_a_dead_one_and_ends_them_all(
    project: Path, docker_client: docker.DockerClient, tmp_path: Path, session_labels: dict[str, str]
) -> None:
    config = tmp_path / "claude_desktop_config.json"
    result = runner.invoke(app, ["config", "--gateway", "--output", str(config), "--env", "ANALYST_ROW_LIMIT=7"],
                           env={"KIT_PROJECT_DIR": str(project)})  # fmt: skip
    assert result.exit_code == 0, result.output
    servers = json.loads(config.read_text())["mcpServers"]
    assert list(servers) == [GATEWAY_ENTRY], "one entry instead of one per server"
    entry = servers[GATEWAY_ENTRY]
    assert entry["args"][0] == "gateway" and entry["env"]["ANALYST_ROW_LIMIT"] == "7"
    params = stdio_params(entry["command"], entry["args"], entry["env"])
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async def session() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        with anyio.fail_after(240):
            async with Client(params, mode="legacy") as client:
                seen["tools"] = [t.name for t in (await client.list_tools()).tools]
                seen["rows"] = await client.call_tool(
                    "analyst__run_sql", {"query": "SELECT id FROM customers ORDER BY id"}
                )
                seen["mail"] = await client.call_tool(
                    "mailer__send_email", {"to": "a@example.com", "subject": "s", "body": "b"}
                )
                seen["time"] = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
                seen["schema"] = (await client.read_resource("analyst+db://schema")).contents[0].text
                job = await client.call_tool("analyst__profile_table", {"table": "products"})
                job_id = job.structured_content["job_id"]
                seen["job"] = await client.call_tool("analyst__job_wait", {"job_id": job_id, "timeout_seconds": 60},
                                                     progress_callback=on_progress)  # fmt: skip
                seen["running"] = len(_containers(docker_client, session_labels))
                seen["children"] = _children(_gateway_pid())
                (analyst,) = _containers(docker_client, session_labels, f"{SERVER}=analyst")
                await anyio.to_thread.run_sync(analyst.kill)
                await anyio.sleep(1)
                seen["after_kill"] = await client.call_tool(
                    "analyst__run_sql", {"query": "SELECT count(*) FROM products"}
                )
                health = json.loads((await client.read_resource("gateway://health")).contents[0].text)
                seen["health"] = health["servers"]
        return seen

    seen = anyio.run(session)
    assert {"analyst__run_sql", "analyst__job_wait", "mailer__send_email", "time__get_current_time"} <= set(
        seen["tools"]
    )
    assert [r[0] for r in seen["rows"].structured_content["rows"]] == list(range(1, 8)), (
        "ANALYST_ROW_LIMIT reached it"
    )
    assert not seen["mail"].is_error and not seen["time"].is_error and "UTC" in seen["time"].content[0].text
    assert "CREATE TABLE customers" in seen["schema"]
    assert seen["job"].structured_content["state"] == "succeeded" and progress and progress[-1] == 1.0
    assert seen["running"] == 3
    assert "docker" not in seen["children"], "no docker client process per server: the engine's API is used"
    assert {h["via"] for h in seen["health"].values()} == {"engine-api"}
    assert not seen["after_kill"].is_error, "a read-only call is repeated on the restarted server"
    assert seen["health"]["analyst"]["restarts"] == 1 and seen["health"]["analyst"]["state"] == "ready"
    deadline = time.monotonic() + 20
    while _containers(docker_client, session_labels) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _containers(docker_client, session_labels), "closing the client ends every container"
    with contextlib.suppress(docker.errors.NotFound):
        docker_client.volumes.get(f"mcpkit-{project_slug(project)}-mailer-outbox").remove(force=True)


def test_the_tools_recorded_on_each_image_are_listed_before_any_container_exists(
    project: Path, kit_settings: Settings, docker_client: docker.DockerClient, session_labels: dict[str, str]
) -> None:
    environ = {"KIT_PROJECT_DIR": str(project), "KIT_CACHE_DIR": str(kit_settings.cache_dir),
               "KIT_LABELS": os.environ["KIT_LABELS"]}  # fmt: skip
    settings = load_settings(environ, cwd=project)
    (analyst,) = select(discover(settings), ["analyst"])
    record = json.loads(docker_client.images.get(image_tag(settings, analyst)).labels[TOOLS])
    assert "run_sql" in {tool["name"] for tool in record["tools"]}, "the build recorded its tools/list"
    gateway = plan_gateway(settings, ["analyst", "time"], {}).gateway()
    gateway.settings.start = "lazy"

    async def session() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        with anyio.fail_after(180):
            async with Client(gateway.server(), mode="legacy") as client:
                seen["tools"] = [t.name for t in (await client.list_tools()).tools]
                seen["before"] = _containers(docker_client, session_labels)
                seen["time"] = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
                seen["during"] = [c.labels[SERVER] for c in _containers(docker_client, session_labels)]
                seen["children"] = _children(os.getpid())
                seen["health"] = gateway.health()["servers"]
        return seen

    seen = anyio.run(session)
    assert {"analyst__run_sql", "time__get_current_time"} <= set(seen["tools"])
    assert seen["before"] == [], "listed from the images' records, no container started for it"
    assert not seen["time"].is_error and seen["during"] == ["time"], "a server starts at its first call"
    assert seen["health"]["time"]["via"] == "engine-api" and seen["health"]["analyst"]["state"] == "stopped"
    assert "docker" not in seen["children"]
    assert not _containers(docker_client, session_labels), "closing the client ends its container"


@pytest.mark.parametrize("via", ["engine-api", "docker-cli"])
def test_a_container_that_cannot_start_fails_its_calls_with_its_reason_and_the_others_serve(
    base_image: BaseResult, session_labels: dict[str, str], via: str
) -> None:
    labels = [arg for k, v in session_labels.items() for arg in ("--label", f"{k}={v}")]
    command = ["python3", "-c", "import sys; sys.exit('cannot start: ANALYST_DSN is not set')"]
    failing: Any = StdioServerParameters(
        command="docker",
        args=["run", "-i", "--rm", *labels, base_image.tag, *command],
        env=docker_client_env(),
    )
    if via == "engine-api":
        create = {"command": command, "labels": session_labels, "auto_remove": True}
        with engine.connected() as client:
            body = engine.create_body(client.api.api_version, base_image.tag, create, {})
        failing = ContainerTarget(base_image.tag, body, failing)
    healthy = MCPServer("healthy")

    @healthy.tool()
    def echo(text: str) -> str:
        return text

    gateway = Gateway([Downstream("broken", failing), Downstream("healthy", healthy)], GatewaySettings())

    async def session() -> dict[str, Any]:
        with anyio.fail_after(120):
            async with Client(gateway.server()) as client:
                await gateway.settled()  # the container has been run, and has exited
                calls = [await client.call_tool("broken__run_sql", {}) for _ in range(3)]
                echo = await client.call_tool("healthy__echo", {"text": "still here"})
                health = json.loads((await client.read_resource("gateway://health")).contents[0].text)
        return {"calls": calls, "echo": echo, "health": health}

    seen = anyio.run(session)
    for call in seen["calls"]:
        assert call.is_error and "cannot start: ANALYST_DSN is not set" in call.content[0].text
    assert seen["echo"].structured_content == {"result": "still here"}, "the others keep serving"
    assert seen["health"]["status"] == "degraded"
    assert "ANALYST_DSN is not set" in seen["health"]["servers"]["broken"]["last_error"]
    assert seen["health"]["servers"]["broken"]["via"] == (via if via == "engine-api" else None)
