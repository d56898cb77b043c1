"""Gemini CLI: `mcpServers.<name> = {command, args, env}` in ~/.gemini/settings.json (comments allowed), or the
project's .gemini/settings.json."""

from __future__ import annotations

from pathlib import Path

from kit.clients.common import Client, stdio_entry
from kit.clients.formats import Json

CLIENT = Client(
    name="gemini",
    display_name="Gemini CLI",
    format=Json(comments=True),
    section=("mcpServers",),
    render=stdio_entry,
    user_file=lambda m: Path(m.environ.get("GEMINI_CLI_HOME") or m.home) / ".gemini" / "settings.json",
    project_file=".gemini/settings.json",
    docs="https://github.com/google-gemini/gemini-cli/blob/main/docs/tools/mcp-server.md",
)
