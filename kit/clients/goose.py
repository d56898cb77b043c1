"""Goose: `extensions.<name> = {name, type: stdio, cmd, args, enabled, envs, timeout}` in its config.yaml (YAML;
comments kept where goose itself has not rewritten them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kit.clients.common import Client, LaunchEntry, Machine
from kit.clients.formats import Yaml


def user_file(machine: Machine) -> Path:
    if machine.environ.get("GOOSE_PATH_ROOT"):
        return Path(machine.environ["GOOSE_PATH_ROOT"]) / "config" / "config.yaml"
    if machine.windows:
        return machine.appdata() / "Block" / "goose" / "config" / "config.yaml"
    return machine.xdg_config() / "goose" / "config.yaml"


def render(launch: LaunchEntry) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "name": launch.name, "type": "stdio", "cmd": launch.command, "args": list(launch.args),
        "enabled": True, "timeout": 300,
    }  # fmt: skip
    if launch.env:
        rendered["envs"] = dict(launch.env)
    return rendered


CLIENT = Client(
    name="goose",
    display_name="Goose",
    format=Yaml(),
    section=("extensions",),
    render=render,
    user_file=user_file,
    docs="https://block.github.io/goose/docs/getting-started/using-extensions",
)
