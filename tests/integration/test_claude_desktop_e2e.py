"""Claude Desktop's view: the generated entry's command and args, run verbatim by the official SDK stdio client."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, TextIO

import anyio
import docker
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from typer.testing import CliRunner

from kit.cli import app
from kit.containers.launch import stdio_params
from kit.containers.logs import recent_logs
from kit.identity import SERVER as SERVER_LABEL
from kit.image.builder import BuildResult
from kit.project.settings import Settings

# Run inside the container while the client is connected, as the server's own user would.
HARDENING_PROBE = """
import json, os
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
try:
    open("/usr/local/written-by-probe", "w")
    writable = True
except OSError:
    writable = False
print(json.dumps({"uid": os.getuid(), "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
                  "root_writable": writable, "interfaces": sorted(os.listdir("/sys/class/net"))}))
"""


@pytest.fixture
def claude_config(
    request: pytest.FixtureRequest,
    analyst_image: BuildResult,
    kit_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """The config `kit config` writes; with the engine's log kept when the test's `engine_logs` says so."""
    monkeypatch.chdir(kit_settings.project_dir)
    monkeypatch.setenv("KIT_BASE_IMAGE", kit_settings.base_image)
    monkeypatch.setenv("KIT_ENGINE_LOGS", "true" if request.getfixturevalue("engine_logs") else "")
    path = tmp_path / "claude_desktop_config.json"
    result = CliRunner().invoke(
        app,
        [
            "config",
            "--client",
            "claude-desktop",
            "analyst",
            "--output",
            str(path),
            "--env",
            "ANALYST_ROW_LIMIT=5",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text())


def _kit_containers(client: docker.DockerClient) -> list:
    return client.containers.list(
        ignore_removed=True,
        all=True,
        filters={"label": [f"{SERVER_LABEL}=analyst", *os.environ["KIT_LABELS"].split(",")]},
    )


@pytest.mark.parametrize(
    ("mode", "protocol", "engine_logs"), [("legacy", "2025-11-25", False), ("auto", "2026-07-28", True)]
)
def test_entry_from_the_config_serves_mcp_hardened_and_leaves_nothing_behind(
    claude_config: dict[str, Any],
    docker_client: docker.DockerClient,
    tmp_path: Path,
    mode: str,
    protocol: str,
    engine_logs: bool,
) -> None:
    entry = claude_config["mcpServers"]["analyst"]
    assert entry["env"] == {"ANALYST_ROW_LIMIT": "5"} and "ANALYST_ROW_LIMIT=5" not in entry["args"]
    params = stdio_params(entry["command"], entry["args"], entry["env"])
    assert not _kit_containers(docker_client), (
        "another analyst container is running; the checks below need it alone"
    )

    stderr = tmp_path / "server-stderr.log"  # what Claude Desktop keeps in its own log of the server

    async def session() -> dict[str, Any]:
        with stderr.open("w") as errlog:
            return await talk(errlog)

    async def talk(errlog: TextIO) -> dict[str, Any]:
        async with Client(stdio_client(params, errlog=errlog), mode=mode) as client:
            (container,) = _kit_containers(docker_client)
            probe = container.exec_run(["python", "-c", HARDENING_PROBE])
            query = await client.call_tool("run_sql", {"query": "SELECT id, city FROM customers ORDER BY id"})
            return {
                "logs": recent_logs("analyst"),
                "protocol": client.protocol_version,
                "tools": [t.name for t in (await client.list_tools()).tools],
                "schema": (await client.read_resource("db://schema")).contents[0].text,
                "query": query,
                "host_config": container.attrs["HostConfig"],
                "probe": json.loads(probe.output),
            }

    seen = anyio.run(session)
    assert seen["protocol"] == protocol
    assert {"run_sql", "explain_sql", "profile_table", "job_wait"} <= set(seen["tools"])
    assert "CREATE TABLE customers" in seen["schema"]
    result = seen["query"].structured_content
    assert result["columns"] == ["id", "city"] and [row[0] for row in result["rows"]] == [1, 2, 3, 4, 5]
    assert result["truncated"] is True, "ANALYST_ROW_LIMIT=5 from the env block reached the container by name"
    on_stderr = [json.loads(line) for line in stderr.read_text().splitlines() if '"tool_call"' in line]
    audit = [line.record for line in seen["logs"] if line.record.get("event") == "tool_call"]
    for trail, where in ((on_stderr, "the client's stderr"), *([(audit, "kit logs")] if engine_logs else [])):
        assert trail and trail[-1]["tool"] == "run_sql" and trail[-1]["outcome"] == "ok", where
    host = seen["host_config"]
    if not engine_logs:
        assert host["LogConfig"]["Type"] == "none" and not seen["logs"], (
            "the protocol's traffic is kept nowhere"
        )

    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"] and host["NetworkMode"] == "none"
    assert "no-new-privileges" in host["SecurityOpt"] and host["Init"] is True
    assert host["Memory"] == 512 * 1024**2 and host["PidsLimit"] == 128
    probe = seen["probe"]
    assert probe["uid"] == 10001
    assert probe["cap_eff"] == "0000000000000000" and probe["no_new_privs"] == "1"
    assert probe["root_writable"] is False
    assert probe["interfaces"] == ["lo"]

    deadline = time.monotonic() + 15
    while _kit_containers(docker_client) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _kit_containers(docker_client), "docker run --rm left a container behind"
