"""Each config format, read back by that format's own parser, and the entry started verbatim by the SDK client:
what a JSON, JSON-with-comments, TOML or YAML client would run; what `kit config` prints is that same file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from ruamel.yaml import YAML
from typer.testing import CliRunner

from kit.cli import app
from kit.containers.launch import stdio_params
from kit.image.builder import BuildResult
from kit.project.settings import Settings


def _json(text: str) -> Any:
    return json.loads(text)


def _yaml(text: str) -> Any:
    return YAML(typ="safe").load(text)


# client -> (parser, how that client reads command, args and env out of its entry)
CLIENTS = {
    "cursor": (_json, lambda d: d["mcpServers"]["analyst"]),
    "vscode": (_json, lambda d: d["servers"]["analyst"]),
    "codex": (tomllib.loads, lambda d: d["mcp_servers"]["analyst"]),
    "goose": (_yaml, lambda d: {**d["extensions"]["analyst"], "command": d["extensions"]["analyst"]["cmd"],
                                "env": d["extensions"]["analyst"].get("envs")}),
    "continue": (_yaml, lambda d: next(s for s in d["mcpServers"] if s["name"] == "analyst")),
    "opencode": (_json, lambda d: {"command": d["mcp"]["analyst"]["command"][0], "args": d["mcp"]["analyst"]["command"][1:],
                                   "env": d["mcp"]["analyst"].get("environment")}),
}  # fmt: skip


@pytest.mark.parametrize("client", list(CLIENTS))
def test_the_entry_each_format_holds_starts_the_server(
    client: str,
    analyst_image: BuildResult,
    kit_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(kit_settings.project_dir)
    path = tmp_path / "config"
    result = CliRunner().invoke(
        app,
        ["config", "analyst", "--client", client, "--output", str(path), "--env", "ANALYST_ROW_LIMIT=3"],
        env={"KIT_BASE_IMAGE": kit_settings.base_image},
    )
    assert result.exit_code == 0, result.output
    printed = CliRunner().invoke(
        app,
        ["config", "analyst", "--client", client, "--env", "ANALYST_ROW_LIMIT=3"],
        env={"KIT_BASE_IMAGE": kit_settings.base_image},
    )
    # printed in the client's own format: the bytes --output wrote (after the header a new Continue file starts with)
    assert path.read_text().endswith(printed.stdout) and printed.stdout.strip()
    parse, entry_of = CLIENTS[client]
    entry = entry_of(parse(path.read_text()))
    assert entry["env"] == {"ANALYST_ROW_LIMIT": "3"} and "ANALYST_ROW_LIMIT=3" not in entry["args"]

    async def session() -> dict[str, Any]:
        params = stdio_params(entry["command"], entry["args"], entry["env"])
        async with Client(params, mode="legacy") as mcp:
            return (
                await mcp.call_tool("run_sql", {"query": "SELECT id FROM customers ORDER BY id"})
            ).structured_content

    rows = anyio.run(session)
    assert [row[0] for row in rows["rows"]] == [1, 2, 3] and rows["truncated"] is True
