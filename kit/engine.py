"""The connection to the Docker engine, with an actionable error when it is not there."""

from __future__ import annotations

import docker
from docker.errors import DockerException, ImageNotFound

from kit.errors import KitError

MANAGED_LABEL = "io.mcpkit.managed"


def connect() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        raise KitError(
            f"cannot reach the Docker engine: {exc}",
            hint="start Docker (e.g. `sudo systemctl start docker`) or point DOCKER_HOST at a running engine",
        ) from None
    return client


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True
