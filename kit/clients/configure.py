"""`kit config`: launch entries for built servers, rendered for a client, printed or merged into its file."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kit.clients import CLIENTS
from kit.clients.common import ClientFormat, ConfigChange, LaunchEntry, apply_change, read_json_config
from kit.containers import engine
from kit.containers.runargs import docker_run_args
from kit.errors import KitError
from kit.identity import MANAGED, image_tag
from kit.project.servers import Server
from kit.project.settings import Settings


def client_format(name: str) -> ClientFormat:
    try:
        return CLIENTS[name]
    except KeyError:
        raise KitError(f"unknown client {name!r}", hint=f"supported clients: {', '.join(CLIENTS)}") from None


def parse_env_options(options: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """`NAME=VALUE` sets a value; a bare `NAME` copies it from the current environment."""
    values = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep:
            if name not in environ:
                raise KitError(
                    f"--env {name}: {name} is not set in this shell", hint=f"use --env {name}=VALUE"
                )
            value = environ[name]
        values[name] = value
    return values


def parse_volume_options(options: list[str]) -> dict[str, str]:
    volumes = {}
    for option in options:
        name, sep, path = option.partition("=")
        if not sep or not name or not path:
            raise KitError(f"--volume {option!r}: write NAME=/absolute/host/folder")
        volumes[name] = path
    return volumes


def launch_entries(
    settings: Settings,
    servers: list[Server],
    env_values: Mapping[str, str] | None = None,
    extra_labels: dict[str, str] | None = None,
    network: str | None = None,
    volumes: Mapping[str, str] | None = None,
) -> list[LaunchEntry]:
    """One entry per server. Values go in the entry's env block; args name the variables and never hold values."""
    env_values = dict(env_values or {})
    declared = {name for server in servers for name in server.passed_env}
    unknown = sorted(set(env_values) - declared)
    if unknown:
        raise KitError(
            f"no selected server takes {', '.join(unknown)}",
            hint="each server declares the variables it takes under [tool.mcpkit] env/secrets; see `kit list --json`",
        )
    volumes = dict(volumes or {})
    unknown_volumes = sorted(
        set(volumes) - {name for server in servers for name in server.declaration.volumes}
    )
    if unknown_volumes:
        raise KitError(f"no selected server declares the volume(s) {', '.join(unknown_volumes)}")
    relative = [path for path in volumes.values() if not Path(path).is_absolute()]
    if relative:
        raise KitError(f"--volume needs an absolute host path: {', '.join(relative)}")
    entries = []
    for server in servers:
        args = docker_run_args(
            server, image_tag(settings, server), extra_labels=extra_labels, network=network, volumes=volumes
        )
        env = {name: env_values[name] for name in server.passed_env if name in env_values}
        entries.append(LaunchEntry(server.name, settings.docker_command, args, env))
    return entries


def default_config_path(client: ClientFormat) -> Path:
    return client.default_path(sys.platform, os.environ, Path.home())


def write_config(
    client: ClientFormat, entries: list[LaunchEntry], path: Path, *, dry_run: bool
) -> ConfigChange:
    return apply_change(path, entries, client, dry_run=dry_run)


def unbuilt_images(settings: Settings, servers: list[Server]) -> list[str]:
    """Tags the entries name that do not exist (none known when the engine is not reachable)."""
    try:
        with engine.connected() as client:
            return [tag for s in servers if engine.find_image(client, tag := image_tag(settings, s)) is None]
    except KitError:
        return []


@dataclass(frozen=True)
class InstalledEntry:
    client: str
    path: Path
    name: str
    image: str


def installed_entries() -> list[InstalledEntry]:
    """The kit's entries in every supported client's own config file on this machine (found by their label)."""
    found = []
    for client in CLIENTS.values():
        path = default_config_path(client)
        if not path.is_file():
            continue
        try:
            section = client.section(read_json_config(path))
        except KitError:
            continue  # a malformed file is the user's; `kit config --install` reports it
        for name, entry in section.items():
            args = entry.get("args") if isinstance(entry, dict) else None
            if isinstance(args, list) and f"{MANAGED}=true" in args and args:
                found.append(InstalledEntry(client.name, path, name, str(args[-1])))
    return found
