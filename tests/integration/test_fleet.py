"""A fleet: our two servers and three package-index servers whose requirements cannot share one environment (the
SQLite server on the 1.x MCP SDK, the others on 2.x), built by one `kit build`, each answering a tool call through
its generated Claude Desktop entry; a second build rebuilds nothing; `kit doctor` finds what breaks, `kit gc` and
`kit build` mend it."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import docker
import pytest
from mcp import Client

from kit.clients.claude_desktop import user_file
from kit.clients.common import Machine
from kit.containers.launch import stdio_params
from kit.identity import MANAGED, PROJECT, SERVER, project_id, project_slug
from kit.image.base_image import BaseResult
from kit.project.settings import Settings

REPO = Path(__file__).resolve().parents[2]
INDEX_SERVERS = [
    ["mcp-server-time==2026.10.19"],
    [
        "mcp-server-sqlite==2025.4.25",
        "--pin",
        "mcp<2",
        "--volume",
        "data=/data",
        "--",
        "--db-path",
        "/data/db.sqlite",
    ],
    ["mcp-server-fetch==2026.10.24", "--network", "--", "--ignore-robots-txt", "--allow-private-ips"],
]
PAGE = "<html><body><h1>Fleet page</h1><p>served to the fetch server on a private network</p></body></html>"


@pytest.fixture(scope="module")
def fleet(kit_cli: Any, base_image: BaseResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The project, built; our servers' locks are the repository's, so their layers come from the build cache."""
    project = tmp_path_factory.mktemp("fleet")
    for name in ("analyst", "mailer"):
        shutil.copytree(
            REPO / "servers" / name, project / "servers" / name, ignore=shutil.ignore_patterns("tests")
        )
    shutil.copytree(REPO / "locks", project / "locks")
    patch = pytest.MonkeyPatch()
    patch.chdir(project)
    try:
        for spec in INDEX_SERVERS:
            kit_cli("add", *spec)
        yield project
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def built(kit_cli: Any, fleet: Path) -> list[dict[str, Any]]:
    return json.loads(kit_cli("build", "--json").stdout)


def test_one_build_makes_every_image_and_a_second_rebuilds_nothing(
    kit_cli: Any, built: list[dict[str, Any]]
) -> None:
    assert [r["server"] for r in built] == ["analyst", "mailer", "time", "sqlite", "fetch"]
    assert all(r["status"] in ("built", "unchanged") and r["smoke"].startswith("passed") for r in built), (
        built
    )
    mcp = {r["server"]: next(d for d in r["dependencies"] if d.startswith("mcp==")) for r in built}
    assert mcp["sqlite"].startswith("mcp==1.") and mcp["time"].startswith("mcp==2."), "side by side"
    again = json.loads(kit_cli("build", "--json").stdout)
    assert [r["status"] for r in again] == ["unchanged"] * 5


def _call(entry: dict[str, Any], tool: str, arguments: dict[str, Any]) -> str:
    async def session() -> str:
        params = stdio_params(entry["command"], entry["args"], entry.get("env"))
        async with Client(params, mode="legacy") as client:
            result = await client.call_tool(tool, arguments)
        assert not result.is_error, result.content
        return "\n".join(getattr(part, "text", "") for part in result.content)

    return anyio.run(session)


@pytest.fixture
def web_network(
    docker_client: docker.DockerClient, kit_settings: Settings, session_labels: dict[str, str], tmp_path: Path
) -> Iterator[str]:
    """A private network with a web server on it (the base image's Python), for the fetch server to read."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "page.html").write_text(PAGE)
    network = docker_client.networks.create("mcpkit-test-fleet", internal=True, labels=session_labels)
    web = docker_client.containers.run(
        kit_settings.base_image, ["python3", "-m", "http.server", "8000", "--directory", "/site"], detach=True,
        name="mcpkit-test-web", network=network.name, labels=session_labels,
        volumes={str(tmp_path / "site"): {"bind": "/site", "mode": "ro"}},
    )  # fmt: skip
    try:
        yield network.name
    finally:
        web.remove(force=True)
        network.remove()


def test_each_server_answers_through_its_claude_desktop_entry(
    kit_cli: Any,
    built: list[dict[str, Any]],
    fleet: Path,
    web_network: str,
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    config = tmp_path / "claude_desktop_config.json"
    kit_cli("config", "--output", str(config))
    kit_cli("config", "fetch", "--network", web_network, "--output", str(config))
    entries = json.loads(config.read_text())["mcpServers"]
    assert set(entries) == {"analyst", "mailer", "time", "sqlite", "fetch"}
    time_image = f"mcpkit/{project_slug(fleet)}/time:2026.10.19"
    assert "--network" in entries["time"]["args"] and entries["time"]["args"][-1] == time_image
    try:
        assert "Electronics" in _call(
            entries["analyst"], "run_sql", {"query": "SELECT DISTINCT category FROM products"}
        )
        assert "message_id" in _call(
            entries["mailer"], "send_email", {"to": "a@example.com", "subject": "s", "body": "b"}
        )
        assert "UTC" in _call(entries["time"], "get_current_time", {"timezone": "UTC"})
        _call(
            entries["sqlite"],
            "create_table",
            {"query": "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)"},
        )
        assert "notes" in _call(entries["sqlite"], "list_tables", {})
        page = _call(entries["fetch"], "fetch", {"url": "http://mcpkit-test-web:8000/page.html"})
        assert "Fleet page" in page
    finally:
        for volume in (
            f"mcpkit-{project_slug(fleet)}-sqlite-data",
            f"mcpkit-{project_slug(fleet)}-mailer-outbox",
        ):
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.volumes.get(volume).remove(force=True)


def test_doctor_reports_what_is_broken_and_nothing_after_gc_and_build(
    kit_cli: Any,
    built: list[dict[str, Any]],
    fleet: Path,
    docker_client: docker.DockerClient,
    kit_settings: Settings,
    session_labels: dict[str, str],
) -> None:
    installed = user_file(Machine.current())  # HOME is a temporary folder in tests
    installed.parent.mkdir(parents=True, exist_ok=True)
    kit_cli("config", "time", "--output", str(installed))
    docker_client.images.remove(f"mcpkit/{project_slug(fleet)}/time:2026.10.19", force=True)
    docker_client.containers.create(
        kit_settings.base_image,
        ["true"],
        labels={MANAGED: "true", SERVER: "time", PROJECT: project_id(fleet), **session_labels},
    )  # a stopped leftover, as a crashed client would leave (swept with the session's if the test fails)
    result = kit_cli.invoke("doctor", "--quick", "--json")
    assert result.exit_code == 1, result.output
    problems = {c["subject"]: c for c in json.loads(result.stdout) if not c["ok"]}
    assert problems["image of time"]["fix"] == "kit build time"
    assert "does not exist" in problems["claude-desktop config"]["detail"]
    assert problems["leftover containers"]["fix"] == "kit gc"

    kit_cli("gc")
    kit_cli("build", "time")
    healthy = kit_cli.invoke("doctor", "--json")
    assert healthy.exit_code == 0, [c for c in json.loads(healthy.stdout) if not c["ok"]]
    checks = {c["subject"] for c in json.loads(healthy.stdout)}
    assert {"time answers", "sqlite answers", "fetch answers", "claude-desktop config"} <= checks


def test_a_server_written_for_the_older_sdk_is_diagnosed_with_the_pin_to_try(
    kit_cli: Any, fleet: Path, built: Any
) -> None:
    kit_cli("add", "mcp-server-sqlite==2025.4.25", "--name", "sqlite-unpinned")
    try:
        result = kit_cli.invoke("build", "sqlite-unpinned", "--json")
        assert result.exit_code == 1
        (failed,) = json.loads(result.stdout)
        assert failed["status"] == "failed" and failed["smoke"] == "failed"
        assert "older version of mcp" in failed["error"] and 'try the pin "mcp<2"' in failed["hint"]
    finally:
        kit_cli("remove", "sqlite-unpinned")


def test_the_bill_of_materials_lists_what_the_image_holds(
    kit_cli: Any, built: list[dict[str, Any]], fleet: Path, tmp_path: Path
) -> None:
    target = tmp_path / "time.cdx.json"
    kit_cli("sbom", "time", "--output", str(target))
    bom = json.loads(target.read_text())
    assert bom["bomFormat"] == "CycloneDX" and bom["metadata"]["component"]["version"] == "2026.10.19"
    components = {c["name"].lower(): c for c in bom["components"]}
    (time_build,) = [r for r in built if r["server"] == "time"]
    assert {d.split("==")[0].lower() for d in time_build["dependencies"]} == set(components), (
        "exactly the lock"
    )
    assert components["mcp-server-time"]["purl"] == "pkg:pypi/mcp-server-time@2026.10.19"
    assert all(c["hashes"][0]["alg"] == "SHA-256" for c in components.values())
