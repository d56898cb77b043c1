"""Zed: `context_servers.<name> = {source: custom, command, args, env}` in its settings.json (JSON with comments),
or the project's .zed/settings.json."""

from __future__ import annotations

from pathlib import Path

from kit.clients.common import Client, LaunchEntry, Machine, stdio_entry
from kit.clients.formats import Json


def user_file(machine: Machine) -> Path:
    if machine.windows:
        return machine.appdata() / "Zed" / "settings.json"
    if machine.mac:
        return machine.home / ".config" / "zed" / "settings.json"
    return (
        Path(machine.environ.get("FLATPAK_XDG_CONFIG_HOME") or machine.xdg_config()) / "zed" / "settings.json"
    )


def render(launch: LaunchEntry) -> dict[str, object]:
    # "source" is ignored by current builds and needed by older ones; args must be present, even empty.
    return stdio_entry(launch, source="custom")


CLIENT = Client(
    name="zed",
    display_name="Zed",
    format=Json(comments=True),
    section=("context_servers",),
    render=render,
    user_file=user_file,
    project_file=".zed/settings.json",
    docs="https://zed.dev/docs/ai/mcp",
)
