"""Long-running jobs through the container: one profile_table polled to completion, another cancelled mid-way."""

from __future__ import annotations

import json
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


def test_a_job_completes_with_progress_and_another_is_cancelled(
    analyst_image: BuildResult, kit_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(kit_settings.project_dir)
    monkeypatch.setenv("KIT_BASE_IMAGE", kit_settings.base_image)
    path = tmp_path / "claude_desktop_config.json"
    result = CliRunner().invoke(app, ["config", "analyst", "--output", str(path)])
    assert result.exit_code == 0, result.output
    entry = json.loads(path.read_text())["mcpServers"]["analyst"]
    params = stdio_params(entry["command"], entry["args"], entry.get("env"))
    progress: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    async def session() -> dict[str, Any]:
        async with Client(params, mode="legacy") as client:
            first = (await client.call_tool("profile_table", {"table": "page_views"})).structured_content[
                "job_id"
            ]
            waited = await client.call_tool(
                "job_wait", {"job_id": first, "timeout_seconds": 120}, progress_callback=on_progress
            )
            result = await client.call_tool("job_result", {"job_id": first})
            second = (await client.call_tool("profile_table", {"table": "PAGE_VIEWS"})).structured_content[
                "job_id"
            ]
            while (await client.call_tool("job_status", {"job_id": second})).structured_content[
                "progress"
            ] == 0:
                await anyio.sleep(0.02)
            await client.call_tool("cancel_job", {"job_id": second})
            cancelled = await client.call_tool("job_wait", {"job_id": second, "timeout_seconds": 60})
            too_early = await client.call_tool("job_result", {"job_id": second})
            return {"waited": waited, "result": result, "cancelled": cancelled, "too_early": too_early}

    seen = anyio.run(session)
    assert seen["waited"].structured_content["state"] == "succeeded"
    profile = seen["result"].structured_content["result"]
    assert profile["rows"] == 300_000 and [c["column"] for c in profile["columns"]][:2] == [
        "id",
        "customer_id",
    ]
    assert len(progress) >= 3 and progress[-1][0] == 1.0, progress
    cancelled = seen["cancelled"].structured_content
    assert cancelled["state"] == "cancelled" and cancelled["progress"] < 1.0
    assert seen["too_early"].is_error and "cancelled" in seen["too_early"].content[0].text
