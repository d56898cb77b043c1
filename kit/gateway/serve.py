"""`kit gateway`: the project's servers behind one MCP endpoint, over stdio or streamable HTTP; and the one client
entry that starts it (`kit config --gateway`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from kit.clients.configure import launch_entries, unbuilt_images, values_taken
from kit.containers.launch import LaunchEntry, kit_command
from kit.errors import KitError
from kit.gateway.settings import GatewaySettings, load_gateway_settings
from kit.identity import MANAGED
from kit.project.servers import Server, discover, select
from kit.project.settings import Settings
from kit.secrets import stored_values
from mcpkit_runtime.gateway.downstream import Downstream
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.recorded import ToolCache

GATEWAY_ENTRY = "mcpkit-gateway"
GATEWAY_LABEL = "io.mcpkit.gateway"  # on the containers a gateway starts: its process id


def gateway_servers(settings: Settings, names: list[str]) -> tuple[GatewaySettings, list[Server]]:
    gateway = load_gateway_settings(settings)
    servers = select(discover(settings), names or gateway.servers)
    bad = [s.name for s in servers if gateway.separator in s.name]
    if bad:
        raise KitError(f"server name(s) {', '.join(bad)} contain the separator {gateway.separator!r}",
                       hint="set another separator under [gateway] in mcpkit.toml")  # fmt: skip
    return gateway, servers


def build_gateway(
    settings: Settings, names: list[str], environ: Mapping[str, str], labels: dict[str, str] | None = None
) -> Gateway:
    """The gateway over the named servers (or those [gateway] lists, or all): each started by its hardened
    `docker run` command line, with the values of the variables it takes copied from `environ` by name."""
    gateway, servers = gateway_servers(settings, names)
    missing = unbuilt_images(settings, servers)
    if missing:
        raise KitError(f"no image for {', '.join(missing)}", hint="build them first: `kit build`")
    # A secret the shell does not set comes from `kit secret`'s store: the gateway passes it to the container's
    # docker CLI by name, as a client would.
    declared = [name for server in servers for name in server.secret_names]
    values = {**stored_values([n for n in declared if n not in environ]), **values_taken(servers, environ)}
    extra = {**(labels or {}), GATEWAY_LABEL: str(os.getpid())}
    entries = launch_entries(settings, servers, values, extra_labels=extra)
    downstreams = [Downstream(e.name, e.stdio_params()) for e in entries]
    return Gateway(downstreams, gateway, cache=ToolCache(settings.cache_dir / "gateway-tools"))


def run_gateway(
    settings: Settings, names: list[str], *, http: bool, host: str, port: int, token: str | None,
    labels: dict[str, str] | None = None, allowed_hosts: list[str] | None = None, metrics: bool = False,
) -> None:  # fmt: skip
    if metrics and not http:
        raise KitError("metrics are served on the gateway's HTTP front, at /metrics",
                       hint="add --http (traces need no option: set OTEL_EXPORTER_OTLP_ENDPOINT)")  # fmt: skip
    gateway = build_gateway(settings, names, os.environ, labels)
    from mcpkit_runtime.gateway.observe import ObserveUnavailable, observe

    try:
        kept, shutdown = observe(gateway, os.environ, metrics=metrics)
    except ObserveUnavailable as exc:
        raise KitError(
            str(exc), hint="or leave them off: drop --metrics, unset OTEL_EXPORTER_OTLP_ENDPOINT"
        ) from None
    try:
        _serve(gateway, http=http, host=host, port=port, token=token, allowed_hosts=allowed_hosts,
               metrics=kept.render if kept else None)  # fmt: skip
    finally:
        shutdown()


def _serve(
    gateway: Gateway, *, http: bool, host: str, port: int, token: str | None, allowed_hosts: list[str] | None,
    metrics: Callable[[], tuple[bytes, str]] | None,
) -> None:  # fmt: skip
    server = gateway.server()
    if not http:
        from mcpkit_runtime import stdio

        stdio.serve(server)
        return
    from mcpkit_runtime import http as http_transport

    names_used = http_transport.OptionNames(
        token="MCP_HTTP_TOKEN (or --token-env NAME)", allowed_hosts="--allow-host"
    )
    try:
        http_transport.serve(server, host=host, port=port, token=token, health=gateway.health,
                             allowed_hosts=allowed_hosts, idle_seconds=gateway.settings.session_idle_seconds,
                             names=names_used, metrics=metrics)  # fmt: skip
    except ValueError as exc:
        raise KitError(str(exc), hint="see `kit gateway --help` for --token-env and --allow-host") from None


def gateway_entry(
    settings: Settings,
    names: list[str],
    env_values: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
) -> LaunchEntry:
    """The client entry that starts the gateway (on the host: it starts the containers) instead of one per server."""
    _, servers = gateway_servers(settings, names)
    env = {"KIT_PROJECT_DIR": str(settings.project_dir), "KIT_IMAGE_PREFIX": settings.image_prefix}
    own = {name: value for name, value in env_values.items() if name.startswith("OTEL_")}  # its traces
    env |= values_taken(servers, {k: v for k, v in env_values.items() if k not in own}, strict=True) | own
    labels = {**settings.container_labels, **(labels or {})}
    extra = [word for key, value in labels.items() for word in ("--label", f"{key}={value}")]
    args = ["gateway", "--label", f"{MANAGED}=true", *extra, *names]
    return LaunchEntry(GATEWAY_ENTRY, kit_command(), args, env)
