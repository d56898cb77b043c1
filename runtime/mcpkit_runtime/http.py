"""Serving over streamable HTTP, done properly: loopback by default; beyond loopback a bearer token is required;
DNS-rebinding protection on; GET /health for probes (no token needed, nothing secret in it); graceful shutdown on
SIGTERM (uvicorn's), which ends the server's lifespan and whatever it holds open.

The runtime's limits apply per HTTP session: a session is the transport's session id.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class BearerToken:
    """ASGI middleware: every request but GET /health must carry `Authorization: Bearer TOKEN`."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") != "/health":
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"")
            if not (given.startswith(b"Bearer ") and hmac.compare_digest(given[7:], self.token)):
                body = json.dumps(
                    {"error": "a bearer token is required: Authorization: Bearer TOKEN"}
                ).encode()
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def app(
    server: Server[Any],
    *,
    host: str,
    token: str | None,
    health: Callable[[], dict[str, Any]],
    allowed_hosts: list[str],
) -> Any:
    """The ASGI app: MCP at /mcp, health at /health, the token checked when there is one."""
    if host not in LOOPBACK and not token:
        raise ValueError(f"serving on {host} (beyond loopback) needs a bearer token: set MCP_HTTP_TOKEN")

    async def health_endpoint(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", **health()})

    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*allowed_hosts, "127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=[*(f"http://{h}" for h in allowed_hosts), "http://127.0.0.1:*", "http://localhost:*"],
    )
    starlette = server.streamable_http_app(
        host=host,
        transport_security=security,
        custom_starlette_routes=[Route("/health", health_endpoint, methods=["GET"])],
    )
    return BearerToken(starlette, token) if token else starlette


def serve(
    server: Server[Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    health: Callable[[], dict[str, Any]] | None = None,
    allowed_hosts: list[str] | None = None,
) -> None:
    import uvicorn

    asgi = app(server, host=host, token=token, health=health or dict, allowed_hosts=allowed_hosts or [])
    uvicorn.run(asgi, host=host, port=port, log_level="warning", timeout_graceful_shutdown=10)
