"""`kit config` and `kit clients`: launch entries for built servers, rendered for any client, printed, or merged
into (and removed from) its config file; which clients this machine has and what the kit installed in them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.clients import CLIENTS
from kit.clients.common import Client, Machine, kit_entries
from kit.containers import engine
from kit.containers.launch import LaunchEntry, image_of
from kit.errors import KitError
from kit.identity import image_tag
from kit.project.servers import Server
from kit.project.settings import Settings


def client_named(name: str) -> Client:
    try:
        return CLIENTS[name]
    except KeyError:
        raise KitError(
            f"unknown client {name!r}", hint=f"supported clients: {', '.join(CLIENTS)}, all"
        ) from None


def clients_named(name: str, machine: Machine) -> list[Client]:
    """One client, or with "all" every client this machine has."""
    if name != "all":
        return [client_named(name)]
    found = [client for client in CLIENTS.values() if client.installed(machine)]
    if not found:
        raise KitError(
            "no supported client is installed on this machine", hint="`kit clients` lists where each looks"
        )
    return found


def render(client: Client, entries: list[LaunchEntry]) -> dict[str, Any]:
    """The entries as a fragment of the client's file, as data."""
    rendered: Any = (
        [client.render(e) for e in entries]
        if client.format.list_key
        else {e.name: client.render(e) for e in entries}
    )
    for key in reversed(client.section):
        rendered = {key: rendered}
    return dict(rendered)


@dataclass(frozen=True)
class ClientStatus:
    name: str
    display_name: str
    format: str
    scopes: list[str]
    path: str  # the user-scope file
    project_path: str | None
    installed: bool  # the client's folder is on this machine
    exists: bool  # its config file exists
    kit_entries: list[str]  # the kit's entries in it
    problem: str | None  # e.g. the file is malformed
    docs: str


def client_statuses(settings: Settings, machine: Machine) -> list[ClientStatus]:
    statuses = []
    for client in CLIENTS.values():
        path = client.user_file(machine)
        entries, problem = [], None
        if path.is_file():
            try:
                entries = list(kit_entries(client, path))
            except KitError as exc:
                problem = exc.message
        project = str(client.path("project", machine, settings.project_dir)) if client.project_file else None
        statuses.append(ClientStatus(
            client.name, client.display_name, client.format.name, list(client.scopes), str(path), project,
            client.installed(machine), path.is_file(), entries, problem, client.docs,
        ))  # fmt: skip
    return statuses


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
    image: str | None  # None: not a `docker run` entry (the gateway's)


def installed_entries(machine: Machine) -> list[InstalledEntry]:
    """The kit's entries in every supported client's user config file on this machine, with the image each runs."""
    found = []
    for client in CLIENTS.values():
        path = client.user_file(machine)
        if not path.is_file():
            continue
        try:
            entries = kit_entries(client, path)
        except KitError:
            continue  # a malformed file is the user's; `kit clients` and `kit config --install` report it
        found += [
            InstalledEntry(client.name, path, name, _image_of(entry)) for name, entry in entries.items()
        ]
    return found


def _image_of(entry: dict[str, Any]) -> str | None:
    """The image of an entry's `docker run` arguments (for OpenCode, its command list holds the command too)."""
    args, command = entry.get("args"), entry.get("command")
    if isinstance(command, list):
        args = command[1:]
    return image_of([str(a) for a in args]) if isinstance(args, list) else None
