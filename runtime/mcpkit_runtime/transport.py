"""One switch for how a server is reached, the same code either way:

MCP_TRANSPORT           stdio (default) or http
MCP_HTTP_HOST, MCP_HTTP_PORT   where HTTP listens (127.0.0.1:8000); beyond loopback MCP_HTTP_TOKEN is required
MCP_HTTP_TOKEN          the bearer token clients must send (or several, comma-separated: one per client)
MCP_HTTP_ALLOWED_HOSTS  host names clients use to reach it (DNS-rebinding protection), e.g. analyst:*,mcp.example:*;
                        required when MCP_HTTP_HOST is every interface (0.0.0.0 or ::)
MCP_SESSION_IDLE_SECONDS  an HTTP session without a request for this long is closed (900)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mcp.server.lowlevel import Server

from mcpkit_runtime import config, sdk

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer  # the gateway serves a low-level Server and never loads it


def serve(
    server: MCPServer | Server[Any],
    environ: Mapping[str, str] | None = None,
    health: Callable[[], dict[str, Any]] | None = None,
    idle_seconds: float | None = None,
    metrics: Callable[[], tuple[bytes, str]] | None = None,
) -> None:
    env = os.environ if environ is None else environ
    kind = env.get("MCP_TRANSPORT", "stdio")
    if kind == "stdio":
        from mcpkit_runtime import stdio

        stdio.serve(server)
    elif kind == "http":
        from mcpkit_runtime import http

        allowed = [h.strip() for h in env.get("MCP_HTTP_ALLOWED_HOSTS", "").split(",") if h.strip()]
        try:
            http.serve(
                sdk.lowlevel(server), host=env.get("MCP_HTTP_HOST", "127.0.0.1"), port=int(env.get("MCP_HTTP_PORT", "8000")),
                token=env.get("MCP_HTTP_TOKEN") or None, health=health, allowed_hosts=allowed,
                idle_seconds=idle_seconds or config.idle_seconds(env), metrics=metrics,
            )  # fmt: skip
        except ValueError as exc:
            sys.stderr.write(f"cannot serve: {exc}\n")
            sys.exit(2)
    else:
        sys.stderr.write(f"cannot serve: MCP_TRANSPORT={kind!r}; use stdio or http\n")
        sys.exit(2)
