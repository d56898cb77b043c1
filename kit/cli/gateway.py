"""Commands about the gateway: gateway."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from kit.cli.app import app, load_settings
from kit.cli.params import NamesArgument, assignments


@app.command()
def gateway(
    names: NamesArgument = None,
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")] = False,
    host: Annotated[
        str, typer.Option("--host", help="Where HTTP listens; beyond loopback a token is required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="HTTP port.")] = 8765,
    token_env: Annotated[
        str | None,
        typer.Option(
            "--token-env",
            help="Name of the variable holding the HTTP bearer token, or several comma-separated, one per client "
            "(default: MCP_HTTP_TOKEN, as every server reads it).",
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host", help="A host name clients use to reach it, e.g. mcp.example.com:* (repeat)."
        ),
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="KEY=VALUE put on the containers it starts.")
    ] = None,
    metrics: Annotated[
        bool,
        typer.Option(
            "--metrics",
            help="Prometheus metrics at /metrics on the HTTP front (behind the token). Traces: set "
            "OTEL_EXPORTER_OTLP_ENDPOINT. Both need mcpkit[observe].",
        ),
    ] = False,
) -> None:
    """One MCP endpoint in front of the project's servers: starts them as hardened containers, namespaces their
    tools (server__tool), applies the gateway's limits, restarts a server that dies."""
    from kit.gateway.serve import run_gateway

    cfg = load_settings()
    token = os.environ.get(token_env or "MCP_HTTP_TOKEN") or None
    if token_env and not token:
        raise typer.BadParameter(f"{token_env} is not set", param_hint="--token-env")
    labels = assignments(label, "--label", "KEY=VALUE")
    run_gateway(
        cfg,
        names or [],
        http=http,
        host=host,
        port=port,
        token=token,
        labels=labels,
        allowed_hosts=allow_host or [],
        metrics=metrics,
    )
