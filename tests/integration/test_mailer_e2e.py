"""The mailer image as Claude Desktop would run it: hardened, read-only root, no network, an outbox volume."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from typer.testing import CliRunner

from kit.cli import app
from kit.containers.launch import stdio_params
from kit.image.builder import BuildResult
from kit.project.settings import Settings


def test_a_hundred_rapid_sends_deliver_the_burst_and_audit_every_call(
    mailer_image: BuildResult, kit_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    outbox.chmod(0o777)  # the container's user (10001) writes here
    monkeypatch.chdir(kit_settings.project_dir)
    monkeypatch.setenv("KIT_BASE_IMAGE", kit_settings.base_image)
    config = tmp_path / "claude_desktop_config.json"
    result = CliRunner().invoke(
        app,
        ["config", "mailer", "--output", str(config), "--volume", f"outbox={outbox}",
         "--env", "MCP_RATE_LIMITS=send_email=1/hour:5", "--env", "MCP_SESSION_BUDGET=1000",
         "--env", "MCP_AUDIT_FILE=/var/mcp/outbox/audit.jsonl"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    entry = json.loads(config.read_text())["mcpServers"]["mailer"]
    assert ("--network", "none") in zip(entry["args"], entry["args"][1:], strict=False)
    params = stdio_params(entry["command"], entry["args"], entry["env"])

    async def session(errlog: Any) -> list[Any]:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            return [
                await client.call_tool(
                    "send_email",
                    {
                        "to": f"user{i}@example.com",
                        "subject": "Quarterly numbers",
                        "body": f"confidential body {i}",
                    },
                )
                for i in range(100)
            ]

    with tempfile.TemporaryFile("w+") as errlog:
        results = anyio.run(session, errlog)
        errlog.seek(0)
        stderr = errlog.read()
    refused = [r for r in results if r.is_error]
    assert len(list(outbox.glob("*.eml"))) == 5 and len(refused) == 95
    assert all("Try again in" in r.content[0].text for r in refused)
    audit = [json.loads(line) for line in stderr.splitlines() if '"logger": "audit"' in line]
    assert len(audit) == 100 and [a["outcome"] for a in audit].count("ok") == 5
    sink = (outbox / "audit.jsonl").read_text().splitlines()
    assert len(sink) == 100, "the file sink on the volume holds the same trail"
    for text in (stderr, "\n".join(sink)):
        assert (
            "confidential body" not in text
            and "Quarterly numbers" not in text
            and "user3@example.com" not in text
        )
