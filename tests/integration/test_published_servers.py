"""Published servers as a new user adds them: `mcp-server-git` needs the git binary, declared with
`kit add --system-package git` (Debian packages downloaded on the host, unpacked at build without a network); its
repository lives on a volume, and `git_status` answers through the generated Claude Desktop entry."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import docker
import pytest
from mcp import Client

from kit.containers.launch import stdio_params
from kit.identity import project_slug
from kit.image.base_image import BaseResult


@pytest.fixture(scope="module")
def project(kit_cli: Any, base_image: BaseResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("published")
    patch = pytest.MonkeyPatch()
    patch.chdir(folder)
    try:
        kit_cli("init", ".")
        yield folder
    finally:
        patch.undo()


def _call(entry: dict[str, Any], tool: str, arguments: dict[str, Any]) -> str:
    async def session() -> str:
        async with Client(
            stdio_params(entry["command"], entry["args"], entry.get("env")), mode="legacy"
        ) as client:
            result = await client.call_tool(tool, arguments)
        assert not result.is_error, result.content
        return "\n".join(getattr(part, "text", "") for part in result.content)

    return anyio.run(session)


def test_the_git_server_with_its_system_package_answers_git_status_through_its_entry(
    kit_cli: Any,
    project: Path,
    docker_client: docker.DockerClient,
    session_labels: dict[str, str],
    tmp_path: Path,
) -> None:
    kit_cli("add", "mcp-server-git==2026.10.19", "--system-package", "git", "--volume", "repo=/repo")
    assert 'system-packages = ["git"]' in (project / "mcpkit.toml").read_text()
    (built,) = json.loads(kit_cli("build", "--json").stdout)
    assert built["status"] == "built" and built["smoke"] == "passed", built
    volume = f"mcpkit-{project_slug(project)}-git-repo"
    try:
        # The repository, made by the image's own git as the server's user: the binary is there and runs.
        docker_client.containers.run(
            built["tag"], ["-c", "git init -q /repo && cd /repo && echo hi > tracked.txt && git add tracked.txt "
            "&& git -c user.name=t -c user.email=t@example.com commit -qm first && echo new > untracked.txt"],
            entrypoint="sh", user="10001:10001", network_disabled=True, remove=True, labels=session_labels,
            volumes={volume: {"bind": "/repo", "mode": "rw"}},
        )  # fmt: skip
        config = tmp_path / "claude_desktop_config.json"
        kit_cli("config", "--output", str(config))
        entry = json.loads(config.read_text())["mcpServers"]["git"]
        assert "none" in entry["args"], "the server runs without a network"
        status = _call(entry, "git_status", {"repo_path": "/repo"})
        assert "untracked.txt" in status, status
        assert "first" in _call(entry, "git_log", {"repo_path": "/repo"})
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.volumes.get(volume).remove(force=True)


def test_files_baked_in_are_in_the_image_readable_by_the_server_and_filtered(
    kit_cli: Any, project: Path, docker_client: docker.DockerClient, session_labels: dict[str, str]
) -> None:
    (project / "models" / "mini").mkdir(parents=True)
    (project / "models" / "mini" / "weights.bin").write_text("weights")
    (project / "models" / "mini" / "weights.bin").chmod(0o600)
    (project / "models" / ".env").write_text("TOKEN=do-not-bake")
    kit_cli("add", "mcp-server-time==2026.10.19", "--file", "/opt/models=./models")
    (built,) = json.loads(kit_cli("build", "time", "--json").stdout)
    assert built["status"] == "built" and built["smoke"] == "passed", built
    listing = docker_client.containers.run(
        built["tag"], ["-c", "cat /opt/models/mini/weights.bin; ls -A /opt/models"], entrypoint="sh",
        user="10001:10001", network_disabled=True, remove=True, labels=session_labels,
    ).decode()  # fmt: skip
    assert listing.startswith("weights") and ".env" not in listing
    (again,) = json.loads(kit_cli("build", "time", "--json").stdout)
    assert again["status"] == "unchanged"
    (project / "models" / "mini" / "weights.bin").write_text("weights, retrained")
    (changed,) = json.loads(kit_cli("build", "time", "--json").stdout)
    assert changed["status"] == "built", "a baked file's change rebuilds the image"


def test_the_excel_server_writes_and_reads_a_workbook_through_its_entry(
    kit_cli: Any, project: Path, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    kit_cli(
        "add", "excel-mcp-server==2.2.2", "--volume", "files=/files", "--", "stdio", "--allow-dir", "/files"
    )
    (built,) = json.loads(kit_cli("build", "excel", "--json").stdout)
    assert built["status"] == "built" and built["smoke"] == "passed", built
    volume = f"mcpkit-{project_slug(project)}-excel-files"
    try:
        config = tmp_path / "claude_desktop_config.json"
        kit_cli("config", "excel", "--output", str(config))
        entry = json.loads(config.read_text())["mcpServers"]["excel"]
        book = "/files/book.xlsx"
        _call(entry, "create_workbook", {"path": book, "sheets": ["Cities"]})
        _call(
            entry, "write_range",
            {"path": book, "sheet": "Cities", "at": "A1", "rows": [["city", "people"], ["Lyon", 522250]]},
        )  # fmt: skip
        read = _call(entry, "read_range", {"path": book, "sheet": "Cities"})
        assert "Lyon" in read and "522250" in read, read
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.volumes.get(volume).remove(force=True)


def test_a_server_that_cannot_start_at_build_says_why_and_list_and_doctor_show_it(
    kit_cli: Any, project: Path
) -> None:
    # With --repository, mcp-server-git refuses to start until its volume holds a repository.
    reason = "its repository is on a volume, filled after the build"
    kit_cli(
        "add", "mcp-server-git==2026.10.19", "--name", "repo", "--system-package", "git", "--volume", "repo=/repo",
        "--smoke-skip", reason, "--", "--repository", "/repo",
    )  # fmt: skip
    (built,) = json.loads(kit_cli("build", "repo", "--json").stdout)
    assert built["status"] == "built" and built["smoke"] == f"skipped: {reason}", built
    listed = {s["name"]: s for s in json.loads(kit_cli("list", "--json").stdout)}
    assert (
        listed["repo"]["smoke"] == f"skipped: {reason}" and listed["git"]["smoke"] == "handshake, tools/list"
    )
    doctor = kit_cli.invoke("doctor", "--json")
    checks = {c["subject"]: c for c in json.loads(doctor.stdout)}
    assert checks["repo answers"]["ok"] and reason in checks["repo answers"]["detail"]


def test_a_server_that_needs_python_3_12_is_built_on_the_base_that_has_it(
    kit_cli: Any, project: Path
) -> None:
    # basic-memory requires Python >= 3.12.1: kit add declares python = "3.13" (mcpkit/base:trixie, built on
    # demand). 0.12.3 is written for the 1.x SDK and serves with its `mcp` command.
    kit_cli("add", "basic-memory==0.12.3", "--name", "memory", "--pin", "mcp<2", "--", "mcp")
    assert 'python = "3.13"' in (project / "mcpkit.toml").read_text()
    (built,) = json.loads(kit_cli("build", "memory", "--json").stdout)
    assert built["status"] == "built" and built["smoke"] == "passed", built
    assert any(d.startswith("basic-memory==0.12.3") for d in built["dependencies"])
    config = project / "memory_config.json"
    kit_cli("config", "memory", "--output", str(config))
    entry = json.loads(config.read_text())["mcpServers"]["memory"]

    async def session() -> str:
        async with Client(
            stdio_params(entry["command"], entry["args"], entry.get("env")), mode="legacy"
        ) as client:
            note = {"title": "Lyon", "content": "Lyon has 522250 people.", "folder": "cities"}
            assert not (await client.call_tool("write_note", note)).is_error
            read = await client.call_tool("read_note", {"identifier": "Lyon"})
        assert not read.is_error, read.content
        return "\n".join(getattr(part, "text", "") for part in read.content)

    assert "522250" in anyio.run(session)
