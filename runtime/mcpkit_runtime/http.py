"""Serving over streamable HTTP, done properly: loopback by default; beyond loopback a bearer token is required and
the host names clients use must be allowed; DNS-rebinding protection (Host and Origin checked) on every path,
/health included; GET /health for probes (no token needed, nothing secret in it); GET /metrics when asked for
(Prometheus text, behind the token like MCP itself); deadlines for a request's headers
and body; idle sessions closed; graceful shutdown on SIGTERM (uvicorn's), which ends the server's lifespan and
whatever it holds open.

The runtime's limits apply per client: see mcpkit_runtime.clients for what identifies one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcpkit_runtime import sdk
from mcpkit_runtime.http_guard import BODY_SECONDS, HEADER_SECONDS, BearerToken, BodyDeadline, header_deadline

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
MAX_SESSIONS = 10_000  # open HTTP sessions at once; past it a new one is refused (503) until others end
Front = Callable[[Any, Server[Any]], Any]  # an ASGI layer around the SDK's app, given the server it serves


@dataclass(frozen=True)
class OptionNames:
    """How the user sets each option where this server is started, so an error names the one they use."""

    token: str = "MCP_HTTP_TOKEN"
    allowed_hosts: str = "MCP_HTTP_ALLOWED_HOSTS"


def tokens_of(text: str | None) -> list[str]:
    """One token, or several comma-separated (each a client identity: mcpkit_runtime.clients)."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def app(
    server: Server[Any],
    *,
    host: str,
    token: str | None,
    health: Callable[[], dict[str, Any]],
    allowed_hosts: list[str],
    idle_seconds: float = 900.0,
    body_seconds: float = BODY_SECONDS,
    names: OptionNames = OptionNames(),
    metrics: Callable[[], tuple[bytes, str]] | None = None,
    front: Front | None = None,
) -> Any:
    """The ASGI app: MCP at /mcp, health at /health, `metrics` (text and content type) at /metrics when given, the
    token checked when there is one; `front(app, server)` in front of the SDK's app, inside the token and deadlines
    (the gateway answers its hot request there: gateway.front_http)."""
    tokens = tokens_of(token)
    if host not in LOOPBACK and not tokens:
        raise ValueError(f"serving on {host} (beyond loopback) needs a bearer token: set {names.token}")
    if host in WILDCARDS and not allowed_hosts:
        raise ValueError(
            f"serving on every interface ({host or '*'}): name the host names clients use to reach it with "
            f"{names.allowed_hosts} (e.g. mcp.example.com:*); any other Host is refused (DNS-rebinding protection)"
        )
    own = [] if host in WILDCARDS or host in LOOPBACK else [f"[{host}]:*" if ":" in host else f"{host}:*"]
    hosts = [*allowed_hosts, *own]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, "127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=[*(f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")),
                         "http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )  # fmt: skip
    checks = TransportSecurityMiddleware(security)

    async def health_endpoint(request: Request) -> Response:
        refused = await checks.validate_request(request)
        return refused or JSONResponse(
            {"status": "ok", **health(), "http_sessions": sdk.open_http_sessions(server)}
        )

    routes = [Route("/health", health_endpoint, methods=["GET"])]
    if metrics is not None:
        exposition = metrics

        async def metrics_endpoint(request: Request) -> Response:
            refused = await checks.validate_request(request)
            if refused:
                return refused
            body, content_type = exposition()
            return Response(body, headers={"content-type": content_type})

        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    starlette = server.streamable_http_app(
        host=host,
        transport_security=security,
        session_idle_timeout=idle_seconds,
        max_sessions=MAX_SESSIONS,
        custom_starlette_routes=routes,
    )
    guarded = BodyDeadline(front(starlette, server) if front else starlette, body_seconds)
    return BearerToken(guarded, tokens) if tokens else guarded


def serve(
    server: Server[Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    health: Callable[[], dict[str, Any]] | None = None,
    allowed_hosts: list[str] | None = None,
    idle_seconds: float = 900.0,
    names: OptionNames = OptionNames(),
    metrics: Callable[[], tuple[bytes, str]] | None = None,
    front: Front | None = None,
) -> None:
    import uvicorn

    sdk.hook_sse_into_uvicorn()
    asgi = app(server, host=host, token=token, health=health or dict, allowed_hosts=allowed_hosts or [],
               idle_seconds=idle_seconds, names=names, metrics=metrics, front=front)  # fmt: skip
    uvicorn.run(asgi, host=host, port=port, log_level="warning", timeout_graceful_shutdown=10,
                timeout_keep_alive=5, http=header_deadline(HEADER_SECONDS))  # fmt: skip
