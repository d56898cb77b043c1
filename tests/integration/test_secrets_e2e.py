"""A stored secret reaches the server through the entry as the client starts it, and no file a client reads holds
its value."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from typer.testing import CliRunner

from kit.cli import app
from kit.containers.launch import stdio_params
from kit.image.builder import BuildResult
from kit.project.settings import Settings

# The image's own demo database, named differently from the image's default, so its arrival shows.
DATABASE_URL = "sqlite:////opt/mcp/data/./demo.db"


def test_an_entry_takes_the_stored_secret_at_start_and_no_config_holds_it(
    analyst_image: BuildResult, kit_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    own_containers: Callable[..., list[Any]],
) -> None:  # fmt: skip
    monkeypatch.setenv("KIT_SECRET_BACKEND", "file")
    env = {"KIT_PROJECT_DIR": str(kit_settings.project_dir), "KIT_BASE_IMAGE": kit_settings.base_image}
    runner = CliRunner()
    stored = runner.invoke(app, ["secret", "set", "ANALYST_DATABASE_URL"], input=DATABASE_URL + "\n", env=env)
    assert stored.exit_code == 0, stored.output
    config = tmp_path / "claude_desktop_config.json"
    written = runner.invoke(app, ["config", "analyst", "--output", str(config)], env=env)
    assert written.exit_code == 0, written.output
    assert DATABASE_URL not in config.read_text()
    entry = json.loads(config.read_text())["mcpServers"]["analyst"]
    assert entry["args"][:3] == ["launch", "--secret", "ANALYST_DATABASE_URL"]

    async def session() -> str:
        params = stdio_params(
            entry["command"], entry["args"], {**entry.get("env", {}), "KIT_SECRET_BACKEND": "file"}
        )
        async with Client(params, mode="legacy") as client:
            result = await client.call_tool("run_sql", {"query": "SELECT count(*) AS n FROM products"})
            assert not result.is_error, result.content
            (container,) = own_containers("analyst")
            assert f"ANALYST_DATABASE_URL={DATABASE_URL}" in container.attrs["Config"]["Env"]
            assert DATABASE_URL not in " ".join(container.attrs["Args"])
            return json.dumps(result.structured_content)

    assert '"n"' in anyio.run(session)
