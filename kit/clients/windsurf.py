"""Windsurf: `mcpServers.<name> = {command, args, env}` in ~/.codeium/windsurf/mcp_config.json."""

from __future__ import annotations

from kit.clients.common import Client, stdio_entry
from kit.clients.formats import Json

CLIENT = Client(
    name="windsurf",
    display_name="Windsurf",
    format=Json(),
    section=("mcpServers",),
    render=stdio_entry,
    user_file=lambda m: m.home / ".codeium" / "windsurf" / "mcp_config.json",
    docs="https://docs.windsurf.com/windsurf/cascade/mcp",
)
