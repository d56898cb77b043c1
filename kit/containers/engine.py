"""The connection to the Docker engine, with an actionable error when it is not there."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def create_body(
    api_version: str, image: str, create: dict[str, Any], env: Mapping[str, str]
) -> dict[str, Any]:
    """The engine's `POST /containers/create` request for the Docker SDK's `containers.create` keywords and the
    variables' values, as the SDK's create_container makes it (the host config split off, the user's proxy settings
    from ~/.docker/config.json added), attached with stdin open: what the gateway posts, from a process without the
    SDK (mcpkit_runtime.gateway.engine). No engine is reached: the client is only the SDK's maker of the request."""
    from docker.types import HostConfig
    from docker.utils import format_environment

    api = docker.APIClient(version=api_version)
    try:
        host_keys = set(inspect.signature(HostConfig).parameters) - {"version"}
        host = api.create_host_config(**{k: v for k, v in create.items() if k in host_keys})
        config = {k: v for k, v in create.items() if k not in host_keys}
        config |= {"stdin_open": True, "tty": False, "detach": False}
        environment = api._proxy_configs.inject_proxy_environment(format_environment(dict(env))) or None
        command = config.pop("command", None)
        body = api.create_container_config(
            image, command, environment=environment, host_config=host, **config
        )
        return {key: value for key, value in body.items() if value is not None}  # as the SDK posts it
    finally:
        api.close()
