"""Claude Desktop: `mcpServers.<name> = {command, args, env}` in claude_desktop_config.json (stdio only)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kit.clients.common import ClientFormat, LaunchEntry
from kit.errors import KitError

SECTION = "mcpServers"


def default_path(platform: str, environ: Mapping[str, str], home: Path) -> Path:
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if platform.startswith("win"):
        appdata = environ.get("APPDATA") or str(home / "AppData" / "Roaming")
        return Path(appdata) / "Claude" / "claude_desktop_config.json"
    # Claude Desktop has no official Linux build; community builds read the XDG location.
    config_home = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config_home) / "Claude" / "claude_desktop_config.json"


def entry(launch: LaunchEntry) -> dict[str, Any]:
    rendered: dict[str, Any] = {"command": launch.command, "args": list(launch.args)}
    if launch.env:
        rendered["env"] = dict(launch.env)
    return rendered


def render(entries: list[LaunchEntry]) -> dict[str, Any]:
    return {SECTION: {launch.name: entry(launch) for launch in entries}}


def merge(existing: dict[str, Any], entries: list[LaunchEntry]) -> dict[str, Any]:
    """The existing config with our entries added or replaced; every other key and server kept as it was."""
    servers = existing.get(SECTION)
    if servers is not None and not isinstance(servers, dict):
        raise KitError(f'"{SECTION}" in the existing config is not an object; the file was left untouched')
    return {**existing, SECTION: {**(servers or {}), **render(entries)[SECTION]}}


def section(config: dict[str, Any]) -> dict[str, Any]:
    return config.get(SECTION) or {}


FORMAT = ClientFormat(
    name="claude-desktop",
    display_name="Claude Desktop",
    default_path=default_path,
    render=render,
    merge=merge,
    section=section,
)
