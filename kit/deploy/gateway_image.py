"""The gateway's own image, for deployments where it reaches servers over HTTP: a server project of its own (the
runtime's `python -m mcpkit_runtime.gateway`, with its metrics and traces), built like any other, so it is locked, hardened and smoke-tested."""

from __future__ import annotations

from kit.files import write_atomically
from kit.project.servers import Server, load_server
from kit.project.settings import Settings
from kit.resources import runtime_distribution

NAME = "mcpkit-gateway"
PYPROJECT = """\
# Written by `kit deploy`: the gateway that fronts the project's servers in a deployment.
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"
dependencies = ["mcpkit-runtime[observe]=={version}"]

[tool.hatch.build.targets.wheel]
packages = ["mcpkit_gateway"]

[tool.mcpkit]
module = "mcpkit_runtime.gateway"
network = true
env = ["MCP_TRANSPORT", "MCP_HTTP_HOST", "MCP_HTTP_PORT", "MCP_HTTP_ALLOWED_HOSTS", "MCP_GATEWAY_SERVERS", "MCP_GATEWAY_SETTINGS",
       "MCP_GATEWAY_METRICS", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME"]
secrets = ["MCP_HTTP_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS"]
"""


def gateway_server(settings: Settings) -> Server:
    folder = settings.cache_dir / "gateway-project" / NAME
    version = runtime_distribution().version
    write_atomically(folder / "pyproject.toml", PYPROJECT.format(name=NAME, version=version))
    write_atomically(
        folder / "mcpkit_gateway" / "__init__.py", '"""The gateway is mcpkit_runtime.gateway."""\n'
    )
    return load_server(folder, settings.project_dir).model_copy(update={"name": NAME})
