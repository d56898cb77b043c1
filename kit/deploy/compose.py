"""`kit deploy compose`: the project's servers as a compose application, each over streamable HTTP on a private
network, behind the gateway, which alone is published (on loopback by default). Written for the compose file format
2.4, which the Python docker-compose understands along with the v2 plugin and which keeps the resource limits.

Every image is built locally (`kit build`; the gateway's own image is built here, by the same builder), so nothing
is pulled. Hardening is the same as a client entry's. Secrets are references: the compose file names variables, the
values live in `.env` beside it (tokens generated there on first run, mode 0600) or in the shell.
"""

from __future__ import annotations

import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from kit import files, identity
from kit.containers.launch import server_walls
from kit.deploy.topology import (
    BACKEND_TOKEN,
    GATEWAY_OBSERVE_ENV,
    GATEWAY_TOKEN,
    GATEWAY_WALLS,
    SERVER_PORT,
    backend_token_variables,
    gateway_env,
    http_env,
    require_servers,
)
from kit.project.servers import Server
from kit.project.settings import Settings

GATEWAY_SERVICE = "gateway"
HEALTHCHECK = (
    "import sys, urllib.request; "
    "sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=3).status == 200 else 1)"
)


@dataclass(frozen=True)
class Deployment:
    folder: Path
    files: list[Path]
    gateway_url: str


def compose_document(
    settings: Settings, servers: list[Server], gateway_image: str, *, port: int, bind: str
) -> dict[str, Any]:
    require_servers(servers)
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    for server in servers:
        environment = {
            **http_env(SERVER_PORT, [f"{server.name}:*"]),
            "MCP_HTTP_TOKEN": _required(BACKEND_TOKEN),
        }
        # By reference only: a variable set in .env or the shell reaches the server; one that is not keeps the
        # image's own default (an empty value would replace it).
        passed = [name for name in server.passed_env if name not in environment]
        walls = server_walls(server)  # a client entry's walls, in compose terms
        services[server.name] = {
            "image": identity.image_tag(settings, server),
            "environment": [*(f"{k}={v}" for k, v in environment.items()), *passed],
            **walls.compose_service(),
            "networks": ["backend"],
            "healthcheck": _healthcheck(SERVER_PORT),
        }
        project = {identity.MANAGED: "true", identity.PROJECT: identity.project_id(server.project_dir)}
        volumes |= {mount.source: {"labels": project} for mount in walls.mounts}
    environment = {
        **http_env(port, ["localhost:*", "127.0.0.1:*", f"{GATEWAY_SERVICE}:*"]),
        "MCP_HTTP_TOKEN": _required(GATEWAY_TOKEN),
        **gateway_env(settings, servers),
        **{variable: f"${{{BACKEND_TOKEN}}}" for variable in backend_token_variables(servers)},
    }
    services[GATEWAY_SERVICE] = {
        "image": gateway_image,
        "environment": [*(f"{k}={v}" for k, v in environment.items()), *GATEWAY_OBSERVE_ENV],
        **GATEWAY_WALLS.compose_service(),
        "labels": {identity.MANAGED: "true", identity.SERVER: GATEWAY_SERVICE},
        "ports": [f"{bind}:{port}:{port}"],
        "networks": ["backend", "frontend"],
        "depends_on": {s.name: {"condition": "service_healthy"} for s in servers},
        "healthcheck": _healthcheck(port),
    }
    document: dict[str, Any] = {
        "version": "2.4",
        "services": services,
        "networks": {
            "backend": {"internal": True, "labels": {identity.MANAGED: "true"}},
            "frontend": {"labels": {identity.MANAGED: "true"}},
        },
    }
    if volumes:
        document["volumes"] = volumes
    return document


def write_compose(
    settings: Settings, servers: list[Server], gateway_image: str, folder: Path, *, port: int = 8765,
    bind: str = "127.0.0.1",
) -> Deployment:  # fmt: skip
    document = compose_document(settings, servers, gateway_image, port=port, bind=bind)
    compose_file = folder / "compose.yaml"
    text = io.StringIO()
    text.write("# Written by `kit deploy compose`; secrets and tokens are references to .env beside it.\n")
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.dump(document, text)
    files.write_atomically(compose_file, text.getvalue())
    env_file = folder / ".env"
    written = [compose_file, *([env_file] if _add_missing_tokens(env_file) else [])]
    return Deployment(folder, written, f"http://{bind}:{port}/mcp")


def _add_missing_tokens(env_file: Path) -> bool:
    """Generate the tokens .env does not hold yet, keeping everything else in it as it was; whether it changed."""
    text = env_file.read_text(encoding="utf-8") if env_file.is_file() else ""
    present = {
        line.split("=", 1)[0].strip()
        for line in text.splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    missing = [name for name in (BACKEND_TOKEN, GATEWAY_TOKEN) if name not in present]
    if not missing:
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    text += "".join(f"{name}={secrets.token_urlsafe(32)}\n" for name in missing)
    files.write_atomically(env_file, text)
    os.chmod(env_file, 0o600)
    return True


def _required(variable: str) -> str:
    """A reference compose refuses to start without."""
    return f"${{{variable}:?run kit deploy compose again, or set it}}"


def _healthcheck(port: int) -> dict[str, Any]:
    return {"test": ["CMD", "python", "-c", HEALTHCHECK.format(port=port)], "interval": "3s", "timeout": "5s",
            "retries": 20, "start_period": "5s"}  # fmt: skip
