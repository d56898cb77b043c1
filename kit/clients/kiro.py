"""Kiro (IDE and CLI): `mcpServers.<name> = {command, args, env, disabled}` in ~/.kiro/settings/mcp.json or the
project's .kiro/settings/mcp.json."""

from __future__ import annotations

from kit.clients.common import Client, LaunchEntry, stdio_entry
from kit.clients.formats import Json


def render(launch: LaunchEntry) -> dict[str, object]:
    return {**stdio_entry(launch), "disabled": False}


CLIENT = Client(
    name="kiro",
    display_name="Kiro",
    format=Json(),
    section=("mcpServers",),
    render=render,
    user_file=lambda m: m.home / ".kiro" / "settings" / "mcp.json",
    project_file=".kiro/settings/mcp.json",
    homes=lambda m: [m.home / ".kiro"],
    docs="https://kiro.dev/docs/mcp/configuration/",
)
