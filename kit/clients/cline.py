"""Cline: `mcpServers.<name> = {command, args, env, disabled}` in cline_mcp_settings.json, shared since 2026 by its
VS Code, JetBrains and CLI builds under ~/.cline."""

from __future__ import annotations

from pathlib import Path

from kit.clients.common import Client, LaunchEntry, Machine, stdio_entry
from kit.clients.formats import Json


def user_file(machine: Machine) -> Path:
    env = machine.environ
    if env.get("CLINE_MCP_SETTINGS_PATH"):
        return Path(env["CLINE_MCP_SETTINGS_PATH"])
    data = (
        Path(env["CLINE_DATA_DIR"])
        if env.get("CLINE_DATA_DIR")
        else Path(env.get("CLINE_DIR") or machine.home / ".cline") / "data"
    )
    return data / "settings" / "cline_mcp_settings.json"


def render(launch: LaunchEntry) -> dict[str, object]:
    return {**stdio_entry(launch), "disabled": False}


CLIENT = Client(
    name="cline",
    display_name="Cline",
    format=Json(),
    section=("mcpServers",),
    render=render,
    user_file=user_file,
    homes=lambda m: [Path(m.environ.get("CLINE_DIR") or m.home / ".cline")],
    docs="https://docs.cline.bot/mcp/configuring-mcp-servers",
)
