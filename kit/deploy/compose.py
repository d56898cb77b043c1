"""`kit deploy compose`: the project's servers as a compose application, each over streamable HTTP on a private
network, behind the gateway, which alone is published (on loopback by default). Written for the compose file format
2.4, which the Python docker-compose understands along with the v2 plugin and which keeps the resource limits.

Every image is built locally (`kit build`; the gateway's own image is built here, by the same builder), so nothing
is pulled. Hardening is the same as a client entry's. Secrets are references: the compose file names variables, the
values live in `.env` beside it (tokens generated there on first run, mode 0600) or in the shell.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from kit import files, identity
from kit.errors import KitError
from kit.gateway.settings import load_gateway_settings
from kit.project.servers import Server
from kit.project.settings import Settings

SERVER_PORT = 8000
GATEWAY_SERVICE = "gateway"
BACKEND_TOKEN = "MCPKIT_BACKEND_TOKEN"  # between the gateway and the servers, on the private network
GATEWAY_TOKEN = "MCPKIT_GATEWAY_TOKEN"  # what clients of the gateway send
HEALTHCHECK = (
    "import sys, urllib.request; "
    "sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=3).status == 200 else 1)"
)


@dataclass(frozen=True)
class Deployment:
    folder: Path
    files: list[Path]
    gateway_url: str


def hardening(server: Server | None) -> dict[str, Any]:
    """What a client entry's `docker run` arguments say, in compose terms."""
    limits = server.declaration.limits if server else None
    memory = limits.memory if limits else "256m"
    return {
        "init": True,
        "read_only": True,
        "tmpfs": [f"/tmp:rw,noexec,nosuid,nodev,size={limits.tmpfs_size if limits else '64m'}"],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "user": identity.CONTAINER_USER,
        "mem_limit": memory,
        "memswap_limit": memory,
        "cpus": float(limits.cpus) if limits else 1.0,
        "pids_limit": limits.pids if limits else 128,
    }


def compose_document(
    settings: Settings, servers: list[Server], gateway_image: str, *, port: int, bind: str
) -> dict[str, Any]:
    gateway = load_gateway_settings(settings)
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    for server in servers:
        environment = {
            "MCP_TRANSPORT": "http", "MCP_HTTP_HOST": "0.0.0.0", "MCP_HTTP_PORT": str(SERVER_PORT),
            "MCP_HTTP_TOKEN": f"${{{BACKEND_TOKEN}:?run kit deploy compose again, or set it}}",
            "MCP_HTTP_ALLOWED_HOSTS": f"{server.name}:*",
        }  # fmt: skip
        # By reference only: a variable set in .env or the shell reaches the server; one that is not keeps the
        # image's own default (an empty value would replace it).
        passed = [name for name in server.passed_env if name not in environment]
        services[server.name] = {
            "image": identity.image_tag(settings, server),
            "environment": [*(f"{k}={v}" for k, v in environment.items()), *passed],
            **hardening(server),
            "labels": {identity.MANAGED: "true", identity.SERVER: server.name},
            "networks": ["backend"],
            "healthcheck": _healthcheck(SERVER_PORT),
        }
        mounts = []
        for name, target in server.declaration.volumes.items():
            volume = f"mcpkit-{server.name}-{name}"
            volumes[volume] = {"labels": {identity.MANAGED: "true"}}
            mounts.append(f"{volume}:{target}")
        if mounts:
            services[server.name]["volumes"] = mounts
    downstream = ",".join(f"{s.name}=http://{s.name}:{SERVER_PORT}/mcp" for s in servers)
    gateway_env = {
        "MCP_TRANSPORT": "http", "MCP_HTTP_HOST": "0.0.0.0", "MCP_HTTP_PORT": str(port),
        "MCP_HTTP_TOKEN": f"${{{GATEWAY_TOKEN}:?run kit deploy compose again, or set it}}",
        "MCP_HTTP_ALLOWED_HOSTS": f"localhost:*,127.0.0.1:*,{GATEWAY_SERVICE}:*",
        "MCP_GATEWAY_SERVERS": downstream,
        "MCP_GATEWAY_SETTINGS": json.dumps(gateway.model_dump(by_alias=True, exclude={"servers"})),
        **{f"MCP_GATEWAY_TOKEN_{s.name.upper().replace('-', '_')}": f"${{{BACKEND_TOKEN}}}" for s in servers},
    }  # fmt: skip
    services[GATEWAY_SERVICE] = {
        "image": gateway_image,
        "environment": [f"{k}={v}" for k, v in gateway_env.items()],
        **hardening(None),
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
    folder.mkdir(parents=True, exist_ok=True)
    compose_file = folder / "compose.yaml"
    yaml = YAML()
    yaml.default_flow_style = False
    with compose_file.open("w", encoding="utf-8") as handle:
        handle.write(
            "# Written by `kit deploy compose`; secrets and tokens are references to .env beside it.\n"
        )
        yaml.dump(document, handle)
    written = [compose_file]
    env_file = folder / ".env"
    wanted = [BACKEND_TOKEN, GATEWAY_TOKEN]
    existing = _read_env(env_file)
    missing = [name for name in wanted if name not in existing]
    if missing:
        lines = [f"{name}={secrets.token_urlsafe(32)}" for name in missing]
        files.write_atomically(env_file, "".join(f"{line}\n" for line in [*existing.values(), *lines]))
        os.chmod(env_file, 0o600)
        written.append(env_file)
    return Deployment(folder, written, f"http://{bind}:{port}/mcp")


def _read_env(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    ]
    return {line.split("=", 1)[0].strip(): line for line in lines}


def _healthcheck(port: int) -> dict[str, Any]:
    return {"test": ["CMD", "python", "-c", HEALTHCHECK.format(port=port)], "interval": "3s", "timeout": "5s",
            "retries": 20, "start_period": "5s"}  # fmt: skip


def check_servers(servers: list[Server]) -> None:
    if not servers:
        raise KitError("no server to deploy", hint="`kit list` shows the project's servers")
