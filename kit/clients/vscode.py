"""VS Code and VS Code Insiders: `servers.<name> = {type: stdio, command, args, env}` in the user's mcp.json (each
edition has its own user folder: Code, Code - Insiders) or the workspace's .vscode/mcp.json, JSON with comments."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kit.clients.common import Client, LaunchEntry, Machine, stdio_entry
from kit.clients.formats import Json


def user_dir(machine: Machine, edition: str = "Code") -> Path:
    if machine.mac:
        return machine.app_support() / edition / "User"
    if machine.windows:
        return machine.appdata() / edition / "User"
    return machine.xdg_config() / edition / "User"


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

INSIDERS = dataclasses.replace(
    CLIENT,
    name="vscode-insiders",
    display_name="VS Code Insiders",
    user_file=lambda m: user_dir(m, "Code - Insiders") / "mcp.json",
)
