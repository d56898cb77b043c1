"""Continue: `mcpServers:` is a list of `{name, type: stdio, command, args, env}` in ~/.continue/config.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kit.clients.common import Client, LaunchEntry, stdio_entry
from kit.clients.formats import Yaml


def render(launch: LaunchEntry) -> dict[str, Any]:
    entry = stdio_entry(launch, type="stdio")
    return {"name": launch.name, **entry}


CLIENT = Client(
    name="continue",
    display_name="Continue",
    format=Yaml(list_key="name"),
    section=("mcpServers",),
    render=render,
    user_file=lambda m: Path(m.environ.get("CONTINUE_GLOBAL_DIR") or m.home / ".continue") / "config.yaml",
    new_file="name: Local Assistant\nversion: 1.0.0\nschema: v1\n",  # what a config.yaml starts with
    docs="https://docs.continue.dev/customize/deep-dives/mcp",
)
