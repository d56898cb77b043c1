"""`kit list`: each server with its image and whether that image is current."""

from __future__ import annotations

from dataclasses import dataclass

import docker

from kit.containers import engine
from kit.errors import KitError
from kit.identity import dependencies_of, image_tag
from kit.image.freshness import build_state
from kit.project.servers import Server
from kit.project.settings import Settings


@dataclass(frozen=True)
class ServerStatus:
    name: str
    source: str  # "folder servers/NAME", "index REQUIREMENT" or "image REFERENCE"
    version: str
    image: str
    state: str  # "missing", "current", "stale", or "unknown" when Docker is not reachable
    image_id: str | None
    size_bytes: int | None
    created: str | None
    network: bool
    env: list[str]
    dependencies: list[str]
    smoke: str  # how a build checks it answers, or why it does not


def server_statuses(settings: Settings, servers: list[Server]) -> list[ServerStatus]:
    try:
        with engine.connected() as client:
            return _statuses(client, settings, servers)
    except KitError:
        return _statuses(None, settings, servers)  # still list the servers; their image state is "unknown"


def _statuses(
    client: docker.DockerClient | None, settings: Settings, servers: list[Server]
) -> list[ServerStatus]:
    statuses = []
    for server in servers:
        state, image = build_state(client, settings, server) if client else ("unknown", None)
        statuses.append(
            ServerStatus(
                name=server.name,
                source=_source(server),
                version=server.version,
                image=image_tag(settings, server),
                state=state,
                image_id=image.short_id if image else None,
                size_bytes=image.attrs.get("Size") if image else None,
                created=image.attrs.get("Created") if image else None,
                network=server.declaration.network,
                env=server.passed_env,
                dependencies=dependencies_of(image) if image else [],
                smoke=server.declaration.smoke.describe(),
            )
        )
    return statuses


def _source(server: Server) -> str:
    if server.path is not None:
        return f"folder {server.path.relative_to(server.project_dir)}"
    return f"image {server.image}" if server.image is not None else f"index {server.package}"
