"""LM Studio: `mcpServers.<name> = {command, args, env}` in mcp.json in its home folder."""

from __future__ import annotations

from pathlib import Path

from kit.clients.common import Client, Machine, stdio_entry
from kit.clients.formats import Json


def lmstudio_home(machine: Machine) -> Path:
    """$LMSTUDIO_HOME, else the folder ~/.lmstudio-home-pointer names, else ~/.lmstudio (or older ~/.cache/lm-studio)."""
    if machine.environ.get("LMSTUDIO_HOME"):
        return Path(machine.environ["LMSTUDIO_HOME"])
    pointer = machine.home / ".lmstudio-home-pointer"
    pointed = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else ""
    if pointed:
        return Path(pointed)
    legacy = machine.home / ".cache" / "lm-studio"
    return (
        legacy
        if legacy.is_dir() and not (machine.home / ".lmstudio").is_dir()
        else machine.home / ".lmstudio"
    )


CLIENT = Client(
    name="lmstudio",
    display_name="LM Studio",
    format=Json(),
    section=("mcpServers",),
    render=stdio_entry,
    user_file=lambda m: lmstudio_home(m) / "mcp.json",
    docs="https://lmstudio.ai/docs/app/plugins/mcp",
)
