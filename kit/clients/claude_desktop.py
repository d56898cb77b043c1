"""Claude Desktop: `mcpServers.<name> = {command, args, env}` in claude_desktop_config.json (stdio only)."""

from __future__ import annotations

from pathlib import Path

from kit.clients.common import Client, Machine, stdio_entry
from kit.clients.formats import Json


def user_file(machine: Machine) -> Path:
    if machine.mac:
        return machine.app_support() / "Claude" / "claude_desktop_config.json"
    if machine.windows:
        # The MSIX package (the default installer since 2026) reads its own copy of %APPDATA%.
        local = Path(machine.environ.get("LOCALAPPDATA") or machine.home / "AppData" / "Local") / "Packages"
        packaged = sorted(local.glob("Claude_*")) if local.is_dir() else []
        if packaged:
            return packaged[0] / "LocalCache" / "Roaming" / "Claude" / "claude_desktop_config.json"
        return machine.appdata() / "Claude" / "claude_desktop_config.json"
    return machine.xdg_config() / "Claude" / "claude_desktop_config.json"  # community builds for Linux


CLIENT = Client(
    name="claude-desktop",
    display_name="Claude Desktop",
    format=Json(),
    section=("mcpServers",),
    render=stdio_entry,
    user_file=user_file,
    docs="https://modelcontextprotocol.io/docs/develop/connect-local-servers",
)
