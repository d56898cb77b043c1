"""Two projects beside each other on one engine, with a server of the same name and version in each, and a server
folder holding what a careless developer keeps there: each project builds, runs and collects its own garbage
without touching the other's; secrets beside the code never reach the image; the build has no network; a file
that does not byte-compile does not fail the build."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import docker
import pytest
from mcp import Client

from kit import identity
from kit.containers.launch import LaunchEntry
from kit.image.base_image import BaseResult

SECRET = "AKIA-never-in-an-image"
# Run at build: what network the build sees (only the loopback interface when it has none).
NETWORK_PROBE = (
    'import socket, pathlib; p = pathlib.Path("/opt/probe"); p.mkdir(exist_ok=True); '
    '(p / "net.txt").write_text(" ".join(n for _, n in socket.if_nameindex()))'
)


def _make_project(kit_cli: Any, root: Path, marker: str) -> Path:
    kit_cli.at(root)("init", str(root))
    kit_cli.at(root)("new", "hello")
    package = root / "servers" / "hello" / "hello"
    server = package / "server.py"
    server.write_text(
        server.read_text().replace('f"Hello, {name.strip()}!"', f'f"Hello from {marker}, {{name}}!"')
    )
    (package / "legacy.py").write_text('print "a Python 2 leftover: it does not byte-compile"\n')
    (package / ".env").write_text(f"AWS_KEY={SECRET}\n")
    (package / "id_rsa").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n")
    pyproject = root / "servers" / "hello" / "pyproject.toml"
    text = pyproject.read_text().replace(
        "secrets = []",
        f'secrets = []\nbuild-commands = [["python", "-c", {json.dumps(NETWORK_PROBE)}]]\n'
        'data-dirs = ["/opt/probe"]\nvolumes = { data = "/var/hello" }',
    )
    pyproject.write_text(text)
    return root


@pytest.fixture(scope="module")
def projects(
    kit_cli: Any, base_image: BaseResult, tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
) -> Iterator[list[Path]]:  # fmt: skip
    roots = [
        _make_project(kit_cli, tmp_path_factory.mktemp(name) / "proj", name) for name in ("alpha", "beta")
    ]
    yield roots
    for root in roots:  # the images these projects built, and only those
        for image in docker_client.images.list(
            filters={"label": f"{identity.PROJECT}={identity.project_id(root)}"}
        ):
            docker_client.images.remove(image.id, force=True)


def _entry(kit_cli: Any, project: Path) -> LaunchEntry:
    result = kit_cli.at(project)("config", "hello", "--client", "claude-desktop")
    entry = json.loads(result.stdout)["mcpServers"]["hello"]
    return LaunchEntry("hello", entry["command"], entry["args"], entry.get("env", {}))


def _greet(entry: LaunchEntry) -> str:
    async def call() -> str:
        async with Client(entry.stdio_params(), mode="legacy") as client:
            result = await client.call_tool("greet", {"name": "Ada"})
            return str(result.content[0].text)  # type: ignore[union-attr]

    return anyio.run(call)


def test_same_names_in_two_projects_never_share_an_image_a_volume_or_a_reply(
    kit_cli: Any, projects: list[Path], docker_client: docker.DockerClient
) -> None:
    for root in projects:
        kit_cli.at(root)("build")
    alpha, beta = (_entry(kit_cli, root) for root in projects)
    assert alpha.image != beta.image, "each project's image has its own tag"
    assert docker_client.images.get(str(alpha.image)).id != docker_client.images.get(str(beta.image)).id
    mounts = [[a for a in entry.args if a.startswith("type=volume")] for entry in (alpha, beta)]
    assert mounts[0] != mounts[1], "each project's volume is its own"
    assert _greet(alpha) == "Hello from alpha, Ada!"
    assert _greet(beta) == "Hello from beta, Ada!"
    kit_cli.at(projects[0])("build", "--force")  # a rebuild in one project leaves the other's image alone
    assert docker_client.images.get(str(beta.image))
    assert _greet(beta) == "Hello from beta, Ada!"


def test_secrets_beside_the_code_stay_out_of_the_image_and_the_build_has_no_network(
    kit_cli: Any, projects: list[Path], docker_client: docker.DockerClient
) -> None:
    image = str(_entry(kit_cli, projects[0]).image)
    listing = docker_client.containers.run(
        image, remove=True, network_mode="none", entrypoint=["python", "-c"],
        command=["import hello, pathlib; print(sorted(p.name for p in pathlib.Path(hello.__file__).parent.iterdir()))"
                 "; print(open('/opt/probe/net.txt').read())"],
    ).decode()  # fmt: skip
    assert "server.py" in listing
    assert ".env" not in listing and "id_rsa" not in listing
    assert listing.strip().splitlines()[-1] == "lo", "build commands ran with a network"
    everything = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
         "grep -rl AKIA-never /opt /tmp 2>/dev/null || true"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert everything.strip() == "", f"the secret reached the image: {everything}"


def test_a_build_command_that_writes_outside_its_data_dirs_fails_there_and_the_build_leaves_no_image(
    kit_cli: Any, base_image: BaseResult, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    root = _make_project(kit_cli, tmp_path / "proj", "gamma")
    pyproject = root / "servers" / "hello" / "pyproject.toml"
    stray = 'import pathlib; pathlib.Path("/etc/mcpkit-stray").write_text("kept?")'
    pyproject.write_text(
        pyproject.read_text().replace(
            "build-commands = [", f'build-commands = [["python", "-c", {json.dumps(stray)}], ', 1
        )
    )
    failed = kit_cli.at(root).invoke("build")
    assert failed.exit_code != 0, failed.output
    output = " ".join(failed.output.split())
    assert "Read-only file system: '/etc/mcpkit-stray'" in output, (
        "the image's root is read-only in the build"
    )
    assert "write only under /opt/server, its data-dirs" in output
    left = docker_client.images.list(filters={"label": f"{identity.PROJECT}={identity.project_id(root)}"})
    assert left == [], "no image"


def test_gc_and_doctor_keep_to_the_current_project(
    kit_cli: Any, projects: list[Path], docker_client: docker.DockerClient, own_containers: Callable[..., list[Any]],
    session_labels: dict[str, str],
) -> None:  # fmt: skip
    alpha, beta = projects
    image = str(_entry(kit_cli, beta).image)
    common = {identity.MANAGED: "true", identity.SERVER: "hello", **session_labels}
    theirs = docker_client.containers.create(
        image, labels={**common, identity.PROJECT: identity.project_id(beta)}
    )
    composed = docker_client.containers.create(
        image,
        labels={**common, identity.PROJECT: identity.project_id(alpha), "com.docker.compose.project": "x"},
    )
    try:
        here = json.loads(kit_cli.at(alpha)("gc", "--dry-run", "--json").stdout)["leftovers"]
        assert not [item for item in here if item["kind"] == "container"], here
        everywhere = json.loads(kit_cli.at(alpha)("gc", "--dry-run", "--json", "--all-projects").stdout)[
            "leftovers"
        ]
        ids = {item["id"] for item in everywhere if item["kind"] == "container"}
        assert theirs.short_id in ids and composed.short_id not in ids
        kit_cli.at(alpha)("gc")
        assert {c.id for c in own_containers(all_states=True)} >= {theirs.id, composed.id}
    finally:
        theirs.remove(force=True)
        composed.remove(force=True)
    assert os.environ.get("KIT_LABELS"), "this test's containers carry the session's label"
