"""What every deployment shares, whatever file says it: each server speaks streamable HTTP on a private network, the
gateway is its only client and the one endpoint clients reach; one token between the gateway and the servers,
another for the gateway's own clients."""

from __future__ import annotations

import json

from kit.errors import KitError
from kit.gateway.settings import load_gateway_settings
from kit.project.servers import Server
from kit.project.settings import Settings
from kit.walls import Walls
from mcpkit_runtime.gateway.settings import token_variable

SERVER_PORT = 8000
BACKEND_TOKEN = "MCPKIT_BACKEND_TOKEN"  # between the gateway and the servers, on the private network
GATEWAY_TOKEN = "MCPKIT_GATEWAY_TOKEN"  # what clients of the gateway send
GATEWAY_WALLS = Walls(memory="256m", network="bridge")  # deployments give it its networks
# The gateway's metrics and traces, off unless the deployment sets them (by reference: .env, the shell, the Secret).
GATEWAY_OBSERVE_ENV = (
    "MCP_GATEWAY_METRICS", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_SERVICE_NAME",
)  # fmt: skip


def require_servers(servers: list[Server]) -> None:
    if not servers:
        raise KitError("no server to deploy", hint="`kit list` shows the project's servers")
    prebuilt = [s.name for s in servers if s.image is not None]
    if prebuilt:  # a deployment reaches each server over the kit runtime's HTTP transport, which they lack
        raise KitError(
            f"{', '.join(prebuilt)}: a prebuilt image is not deployed behind the HTTP gateway (it speaks stdio, "
            "without the kit's runtime)",
            hint="deploy the other servers by name; `kit gateway` on the host takes prebuilt images over stdio",
        )


def http_env(port: int, allowed_hosts: list[str]) -> dict[str, str]:
    """How a server (or the gateway) serves streamable HTTP in a deployment; its token is set apart, by reference."""
    return {
        "MCP_TRANSPORT": "http", "MCP_HTTP_HOST": "0.0.0.0", "MCP_HTTP_PORT": str(port),
        "MCP_HTTP_ALLOWED_HOSTS": ",".join(allowed_hosts),
    }  # fmt: skip


def gateway_env(settings: Settings, servers: list[Server]) -> dict[str, str]:
    """What the gateway is told about the servers behind it: where each is, and the [gateway] settings."""
    gateway = load_gateway_settings(settings)
    return {
        "MCP_GATEWAY_SERVERS": ",".join(f"{s.name}=http://{s.name}:{SERVER_PORT}/mcp" for s in servers),
        "MCP_GATEWAY_SETTINGS": json.dumps(gateway.model_dump(by_alias=True, exclude={"servers"})),
    }


def backend_token_variables(servers: list[Server]) -> list[str]:
    """The variables the gateway reads each server's token from (all hold the backend token)."""
    return [token_variable(s.name) for s in servers]
