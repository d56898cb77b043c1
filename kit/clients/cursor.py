"""Cursor: `mcpServers.<name> = {command, args, env}` in ~/.cursor/mcp.json or the project's .cursor/mcp.json."""

from __future__ import annotations

from kit.clients.common import Client, stdio_entry
from kit.clients.formats import Json

CLIENT = Client(
    name="cursor",
    display_name="Cursor",
    format=Json(),
    section=("mcpServers",),
    render=stdio_entry,
    user_file=lambda m: m.home / ".cursor" / "mcp.json",
    project_file=".cursor/mcp.json",
    docs="https://cursor.com/docs/context/mcp",
)
