"""`python -m mcpkit_runtime.gateway`: a gateway in front of servers already running behind streamable HTTP, as in
a compose or Kubernetes deployment (`kit deploy`). Configured from the environment:

MCP_GATEWAY_SERVERS      name=url pairs, comma-separated: analyst=http://analyst:8000/mcp,mailer=http://mailer:8000/mcp
MCP_GATEWAY_TOKEN_NAME   the bearer token of server NAME (upper case, - as _), when it wants one
MCP_GATEWAY_SETTINGS     JSON of the gateway settings (separator, allow, deny, rate-limits, session-budget, start,
                         session-idle-seconds, max-clients)
and MCP_TRANSPORT, MCP_HTTP_* for how the gateway itself is reached (see mcpkit_runtime.transport).
"""

from __future__ import annotations

import json
import os
import sys

from mcpkit_runtime import logs
from mcpkit_runtime.config import pairs
from mcpkit_runtime.gateway.downstream import Downstream, HttpTarget
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.settings import GatewaySettings, token_variable
from mcpkit_runtime.transport import serve


def main() -> None:
    logs.configure()
    try:
        servers = pairs(os.environ.get("MCP_GATEWAY_SERVERS", ""), "MCP_GATEWAY_SERVERS", "name=url")
    except ValueError as exc:
        sys.stderr.write(f"cannot start: {exc}\n")
        sys.exit(2)
    settings = GatewaySettings.model_validate(json.loads(os.environ.get("MCP_GATEWAY_SETTINGS") or "{}"))
    downstreams = [
        Downstream(name, HttpTarget(url, os.environ.get(token_variable(name))))
        for name, url in servers.items()
    ]
    gateway = Gateway(downstreams, settings)
    serve(gateway.server(), health=gateway.health, idle_seconds=settings.session_idle_seconds)


if __name__ == "__main__":
    main()
