"""The connection to the Docker engine, with an actionable error when it is not there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
from docker.constants import MINIMUM_DOCKER_API_VERSION
from docker.errors import DockerException, ImageNotFound
from docker.models.images import Image
from requests.exceptions import RequestException

from kit.errors import KitError

_HINT = "start Docker (e.g. `sudo systemctl start docker`) or point DOCKER_HOST at a running engine"


@contextmanager
def connected() -> Iterator[docker.DockerClient]:
    """A client for the engine, closed on exit; a KitError saying how to fix it when the engine is not there."""
    client = docker.from_env(version=_engine_api_version())
    try:
        yield client
    finally:
        client.close()


def _engine_api_version() -> str:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        raise KitError(
            f"cannot reach the Docker engine: no socket at {host.removeprefix('unix://')}", hint=_HINT
        )
    # Asked with a client we close ourselves: docker.from_env() would leak its socket when the engine is down.
    probe = docker.from_env(version=MINIMUM_DOCKER_API_VERSION)
    try:
        return str(probe.api.version(api_version=False)["ApiVersion"])
    except (DockerException, RequestException, KeyError) as exc:
        raise KitError(
            f"cannot reach the Docker engine: {exc}",
            hint=_HINT,
        ) from None
    finally:
        probe.close()


def find_image(client: docker.DockerClient, tag: str) -> Image | None:
    try:
        return client.images.get(tag)
    except ImageNotFound:
        return None
