"""OpenCode: `mcp.<name> = {type: local, command: [command, ...args], enabled, environment}` in opencode.json
(JSON with comments), or the project's opencode.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kit.clients.common import Client, LaunchEntry, Machine
from kit.clients.formats import Json


def user_file(machine: Machine) -> Path:
    folder = machine.xdg_config() / "opencode"
    jsonc = folder / "opencode.jsonc"
    return jsonc if jsonc.is_file() and not (folder / "opencode.json").is_file() else folder / "opencode.json"


def render(launch: LaunchEntry) -> dict[str, Any]:
    rendered: dict[str, Any] = {"type": "local", "command": [launch.command, *launch.args], "enabled": True}
    if launch.env:
        rendered["environment"] = dict(launch.env)
    return rendered


CLIENT = Client(
    name="opencode",
    display_name="OpenCode",
    format=Json(comments=True),
    section=("mcp",),
    render=render,
    user_file=user_file,
    project_file="opencode.json",
    docs="https://opencode.ai/docs/mcp-servers/",
)
