"""VS Code: `servers.<name> = {type: stdio, command, args, env}` in the user's mcp.json or the workspace's
.vscode/mcp.json, both JSON with comments."""

from __future__ import annotations

from pathlib import Path

from kit.clients.common import Client, LaunchEntry, Machine, stdio_entry
from kit.clients.formats import Json


def user_dir(machine: Machine) -> Path:
    if machine.mac:
        return machine.app_support() / "Code" / "User"
    if machine.windows:
        return machine.appdata() / "Code" / "User"
    return machine.xdg_config() / "Code" / "User"


def render(launch: LaunchEntry) -> dict[str, object]:
    return stdio_entry(launch, type="stdio")


CLIENT = Client(
    name="vscode",
    display_name="VS Code",
    format=Json(comments=True),
    section=("servers",),
    render=render,
    user_file=lambda m: user_dir(m) / "mcp.json",
    project_file=".vscode/mcp.json",
    docs="https://code.visualstudio.com/docs/copilot/reference/mcp-configuration",
)
