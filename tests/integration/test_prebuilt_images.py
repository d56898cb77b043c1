"""A server that already comes as an image, built here by the test as its publisher would (nothing can be pulled):
`kit add --image` records it; `kit build` builds nothing, checks that the image is on this machine and passes the
smoke test, and remembers that it did; its client entry runs it as it is, in the kit's walls, never pulled.

The image's server is a small stdio MCP server of the standard library only, not made with the SDK or the kit: any
image that speaks MCP over stdio must do. The client is the official SDK's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import docker
import pytest
from mcp import Client
from typer.testing import CliRunner

from kit.cli import app
from kit.containers.launch import stdio_params
from kit.image.base_image import BaseResult
from kit.project.settings import Settings

SERVER = r"""
import json, sys

greeting = sys.argv[sys.argv.index("--greeting") + 1] if "--greeting" in sys.argv else "Hello"
TOOLS = [{"name": "greet", "description": "Greets someone.",
          "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}]
for line in sys.stdin:
    message = json.loads(line)
    method, ident, params = message.get("method"), message.get("id"), message.get("params") or {}
    if ident is None:
        continue
    answer = {"jsonrpc": "2.0", "id": ident}
    if method == "initialize":
        answer["result"] = {"protocolVersion": params["protocolVersion"], "capabilities": {"tools": {}},
                            "serverInfo": {"name": "prebuilt-hello", "version": "1.0.0"}}
    elif method == "tools/list":
        answer["result"] = {"tools": TOOLS}
    elif method == "tools/call":
        text = f"{greeting}, {params['arguments']['name']}!"
        answer["result"] = {"content": [{"type": "text", "text": text}], "isError": False}
    elif method == "ping":
        answer["result"] = {}
    else:
        answer["error"] = {"code": -32601, "message": f"no method {method}"}
    print(json.dumps(answer), flush=True)
"""
runner = CliRunner()


def kit(project: Path, *args: str, ok: bool = True) -> Any:
    result = runner.invoke(app, list(args), env={"KIT_PROJECT_DIR": str(project)})
    assert (result.exit_code == 0) == ok, f"kit {' '.join(args)}:\n{result.output}"
    return result


@pytest.fixture(scope="module")
def published_image(
    base_image: BaseResult, docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory,
    session_labels: dict[str, str],
) -> Iterator[str]:  # fmt: skip
    context = tmp_path_factory.mktemp("published-image")
    (context / "server.py").write_text(SERVER)
    (context / "Dockerfile").write_text(
        f'FROM {base_image.tag}\nCOPY server.py /srv/server.py\nENTRYPOINT ["python3", "/srv/server.py"]\n'
    )
    tag = f"mcpkit-test/prebuilt-hello:{uuid.uuid4().hex[:8]}"
    docker_client.images.build(
        path=str(context), tag=tag, labels=session_labels, network_mode="none", rm=True
    )
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kit_settings: Settings) -> Path:
    monkeypatch.setenv("KIT_CACHE_DIR", str(kit_settings.cache_dir))
    monkeypatch.setenv("KIT_BASE_IMAGE", kit_settings.base_image)
    root = tmp_path / "proj"
    kit(root, "init", str(root))
    return root


def test_a_prebuilt_image_is_checked_not_built_and_runs_as_it_is_in_the_walls(
    published_image: str, project: Path, own_containers: Callable[..., list[Any]], tmp_path: Path
) -> None:
    kit(project, "add", "--image", published_image, "hello", "--", "--greeting", "Hallo")
    (checked,) = json.loads(kit(project, "build", "--json").stdout)
    assert checked["status"] == "prebuilt" and checked["smoke"] == "passed", checked
    assert checked["tag"] == published_image and checked["tools"] == ["greet"]
    (again,) = json.loads(kit(project, "build", "--json").stdout)
    assert again["smoke"] == "passed when checked", "an unchanged image that passed is not started again"
    (listed,) = json.loads(kit(project, "list", "--json").stdout)
    assert (listed["state"], listed["source"]) == ("current", f"image {published_image}")

    client_file = tmp_path / "claude_desktop_config.json"
    kit(project, "config", "--output", str(client_file))
    entry = json.loads(client_file.read_text())["mcpServers"]["hello"]
    assert entry["args"][-3:] == [published_image, "--greeting", "Hallo"]

    async def session() -> tuple[str, dict[str, Any]]:
        async with Client(
            stdio_params(entry["command"], entry["args"], entry.get("env")), mode="legacy"
        ) as c:
            result = await c.call_tool("greet", {"name": "Ada"})
            assert not result.is_error, result.content
            (container,) = own_containers("hello")
            return str(result.content[0].text), container.attrs  # type: ignore[union-attr]

    text, inspected = anyio.run(session)
    assert text == "Hallo, Ada!"
    host = inspected["HostConfig"]
    assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"] and host["NetworkMode"] == "none"
    assert inspected["Config"]["User"] == "10001:10001" and "no-new-privileges" in host["SecurityOpt"]


def test_the_gateway_fronts_a_prebuilt_image_as_any_server(
    published_image: str, project: Path, tmp_path: Path
) -> None:
    kit(project, "add", "--image", published_image, "hello")
    client_file = tmp_path / "claude_desktop_config.json"
    kit(project, "config", "--gateway", "--output", str(client_file))
    (entry,) = json.loads(client_file.read_text())["mcpServers"].values()

    async def session() -> str:
        with anyio.fail_after(180):
            async with Client(
                stdio_params(entry["command"], entry["args"], entry.get("env")), mode="legacy"
            ) as c:
                result = await c.call_tool("hello__greet", {"name": "Ada"})
                assert not result.is_error, result.content
                return str(result.content[0].text)  # type: ignore[union-attr]

    assert anyio.run(session) == "Hello, Ada!"


def test_a_missing_image_fails_its_check_saying_how_to_bring_it(project: Path) -> None:
    absent = f"mcpkit-test/absent:{uuid.uuid4().hex[:8]}"
    added = kit(project, "add", "--image", absent, "absent")
    assert "not on this machine yet" in added.output
    result = kit(project, "build", "--json", ok=False)
    (failed,) = json.loads(result.stdout)
    assert failed["status"] == "failed" and "not on this machine" in failed["error"]
    assert "docker load" in failed["hint"] and "docker build" in failed["hint"]
    checks = json.loads(kit(project, "doctor", "--quick", "--json", ok=False).stdout)
    check = next(c for c in checks if c["subject"] == "image of absent")
    assert not check["ok"] and "docker load" in check["fix"]
