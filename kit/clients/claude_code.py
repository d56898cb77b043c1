"""Claude Code: `mcpServers.<name> = {type: stdio, command, args, env}` in ~/.claude.json (user scope, a large file
Claude Code itself rewrites: only our entries change), in the same file under `projects.<project's absolute path>`
(local scope, `claude mcp add --scope local`: this project, this user), or the project's shared .mcp.json."""

from __future__ import annotations

from pathlib import Path

from kit.clients.common import Client, LaunchEntry, Machine, stdio_entry
from kit.clients.formats import Json


def user_file(machine: Machine) -> Path:
    return Path(machine.environ.get("CLAUDE_CONFIG_DIR") or machine.home) / ".claude.json"


def render(launch: LaunchEntry) -> dict[str, object]:
    return stdio_entry(launch, type="stdio")


CLIENT = Client(
    name="claude-code",
    display_name="Claude Code",
    format=Json(),
    section=("mcpServers",),
    render=render,
    user_file=user_file,
    project_file=".mcp.json",
    local_section=lambda project: ("projects", str(project), "mcpServers"),
    homes=lambda m: [Path(m.environ.get("CLAUDE_CONFIG_DIR") or m.home / ".claude")],
    docs="https://code.claude.com/docs/en/mcp",
)
