"""A secret a server reads from its command line: `args = ["--dsn", "${ARGECHO_DSN}"]` is filled in inside the
container at start, from a variable passed by name (here from `kit secret`'s store through `kit launch`). The server
gets the value; mcpkit.toml, the server's declaration, its lock, the image (start command, labels, history), the
client entry and the container's `docker inspect` Args and Cmd never hold it. What it cannot hide: the server's own
argv, which the host's process table shows (`docker top`), as for any process; that limit is checked too."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import docker
import pytest
from docker.errors import ContainerError
from mcp import Client
from typer.testing import CliRunner

from kit import identity
from kit.cli import app
from kit.containers.launch import stdio_params
from kit.image.base_image import BaseResult
from kit.project.settings import Settings
from mcpkit_runtime.argv import EXIT_MISSING

VALUE = "postgresql://reader:s3cret-in-argv@db.internal:5432/sales"
TOOL = '''
    @mcp.tool()
    def started_with() -> str:
        """The arguments the server process started with."""
        import sys

        return " ".join(sys.argv[1:])

    return mcp
'''


def _kit(project: Path, *args: str, stdin: str | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), input=stdin, env={"KIT_PROJECT_DIR": str(project)})
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def project(
    base_image: BaseResult, kit_settings: Settings, tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[Path]:  # fmt: skip
    root = tmp_path_factory.mktemp("secret-args") / "proj"
    try:
        _kit(root, "init", str(root))
        _kit(root, "new", "argecho")
        server = root / "servers" / "argecho" / "argecho" / "server.py"
        server.write_text(server.read_text().replace("\n    return mcp\n", TOOL, 1))
        pyproject = root / "servers" / "argecho" / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace(
                "[tool.mcpkit]\n", '[tool.mcpkit]\nargs = ["--dsn", "${ARGECHO_DSN}"]\n', 1
            )
        )
        yield root
    finally:
        for image in docker_client.images.list(
            filters={"label": f"{identity.PROJECT}={identity.project_id(root)}"}
        ):
            docker_client.images.remove(image.id, force=True)


@pytest.fixture(autouse=True)
def shared_cache(monkeypatch: pytest.MonkeyPatch, kit_settings: Settings) -> None:
    monkeypatch.setenv("KIT_CACHE_DIR", str(kit_settings.cache_dir))
    monkeypatch.setenv("KIT_BASE_IMAGE", kit_settings.base_image)


def test_an_argument_secret_reaches_the_server_and_no_file_image_or_inspect_holds_it(
    project: Path, docker_client: docker.DockerClient, own_containers: Callable[..., list[Any]],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("KIT_SECRET_BACKEND", "file")
    (built,) = json.loads(_kit(project, "build", "--json").stdout)
    assert built["status"] == "built" and built["smoke"] == "passed", built
    image = docker_client.images.get(built["tag"])
    config = image.attrs["Config"]
    assert config["Cmd"] == ["--dsn", "${ARGECHO_DSN}"], "the image holds the reference, not a value"
    assert config["Entrypoint"][:4] == ["python", "-I", "-S", "/opt/mcpkit/argv.py"]

    _kit(project, "secret", "set", "ARGECHO_DSN", stdin=VALUE + "\n")
    client_file = tmp_path / "claude_desktop_config.json"
    _kit(project, "config", "argecho", "--output", str(client_file))
    entry = json.loads(client_file.read_text())["mcpServers"]["argecho"]
    assert entry["args"][:3] == ["launch", "--secret", "ARGECHO_DSN"]
    assert entry["args"][entry["args"].index("-e") :][:2] == ["-e", "ARGECHO_DSN"]

    async def session() -> tuple[str, dict[str, Any], str]:
        env = {**entry.get("env", {}), "KIT_SECRET_BACKEND": "file"}
        async with Client(stdio_params(entry["command"], entry["args"], env), mode="legacy") as client:
            result = await client.call_tool("started_with", {})
            assert not result.is_error, result.content
            (container,) = own_containers("argecho")
            processes = json.dumps(container.top())
            return str(result.content[0].text), container.attrs, processes  # type: ignore[union-attr]

    started_with, inspected, processes = anyio.run(session)
    assert started_with == f"--dsn {VALUE}", "the server received the value"
    assert VALUE not in " ".join(inspected["Args"]) and VALUE not in json.dumps(inspected["Config"]["Cmd"])
    assert inspected["Config"]["Cmd"] == ["--dsn", "${ARGECHO_DSN}"]
    # The honest limit: the container's processes are the host's, and `ps` shows the server's own argv.
    assert VALUE in processes

    written = [project / "mcpkit.toml", project / "servers" / "argecho" / "pyproject.toml", client_file]
    written += [p for p in project.rglob("*.lock*") if p.is_file()]
    assert all(VALUE not in path.read_text() for path in written)
    history = json.dumps(image.history())
    assert VALUE not in json.dumps(image.attrs) and VALUE not in history


def test_without_its_value_the_container_names_the_missing_variable_and_stops(
    project: Path, docker_client: docker.DockerClient, session_labels: dict[str, str]
) -> None:
    tag = f"mcpkit/{identity.project_slug(project)}/argecho:latest"
    with pytest.raises(ContainerError) as caught:
        docker_client.containers.run(
            tag, remove=True, network_disabled=True, labels=session_labels, stdin_open=False
        )
    assert caught.value.exit_status == EXIT_MISSING
    stderr = (
        caught.value.stderr.decode() if isinstance(caught.value.stderr, bytes) else str(caught.value.stderr)
    )
    assert "ARGECHO_DSN is not set" in stderr and "kit secret set ARGECHO_DSN" in stderr
