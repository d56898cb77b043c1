"""Codex CLI: `[mcp_servers.<name>]` with command, args and env in $CODEX_HOME/config.toml (TOML: comments and
order kept), or the project's .codex/config.toml (read in trusted projects)."""

from __future__ import annotations

from pathlib import Path

from kit.clients.common import Client, Machine, stdio_entry
from kit.clients.formats import Toml


def codex_home(machine: Machine) -> Path:
    return Path(machine.environ.get("CODEX_HOME") or machine.home / ".codex")


CLIENT = Client(
    name="codex",
    display_name="Codex CLI",
    format=Toml(),
    section=("mcp_servers",),
    render=stdio_entry,
    user_file=lambda m: codex_home(m) / "config.toml",
    project_file=".codex/config.toml",
    docs="https://developers.openai.com/codex/mcp",
)
