"""`kit gateway`: the project's servers behind one MCP endpoint, over stdio or streamable HTTP; and the one client
entry that starts it (`kit config --gateway`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from docker.models.images import Image

from kit import identity
from kit.containers import engine
from kit.containers.launch import LaunchEntry, docker_client_env, kit_command, launch_entries, values_taken
from kit.errors import KitError
from kit.gateway.settings import load_gateway_settings
from kit.identity import MANAGED
from kit.project.servers import Server, discover, select
from kit.project.settings import Settings
from kit.secrets import stored_values
from mcpkit_runtime.gateway.plan import ContainerPlan, FrontPlan, GatewayPlan, ServerPlan, hand_over
from mcpkit_runtime.gateway.settings import GatewaySettings

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


def plan_gateway(
    settings: Settings, names: list[str], environ: Mapping[str, str], labels: dict[str, str] | None = None
) -> GatewayPlan:
    """The gateway over the named servers (or those [gateway] lists, or all): each a hardened container of the
    image its tag names now, with the values of the variables it takes copied from `environ` by name."""
    gateway, servers = gateway_servers(settings, names)
    # A secret the shell does not set comes from `kit secret`'s store: the gateway passes it to the container by
    # name, as a client would.
    declared = [name for server in servers for name in server.secret_names]
    values = {**stored_values([n for n in declared if n not in environ]), **values_taken(servers, environ)}
    extra = {**(labels or {}), GATEWAY_LABEL: str(os.getpid())}  # hand_over keeps the pid
    entries = launch_entries(settings, servers, values, extra_labels=extra)
    with engine.connected() as client:
        images = {entry.name: engine.find_image(client, str(entry.image)) for entry in entries}
        api_version = client.api.api_version
    missing = [str(entry.image) for entry in entries if images[entry.name] is None]
    if missing:
        raise KitError(f"no image for {', '.join(missing)}", hint="build them first: `kit build`")
    planned = [planned_server(entry, images[entry.name], api_version) for entry in entries]
    return GatewayPlan(servers=planned, settings=gateway, tool_cache=settings.cache_dir / "gateway-tools")


def planned_server(entry: LaunchEntry, image: Image | None, api_version: str) -> ServerPlan:
    """A server started from the image found now, by its id (so the tools recorded on it are the tools of what
    runs): through the engine's API where the gateway reaches it, else by its `docker run` line (with another
    Docker CLI configured, always by that line)."""
    plan = ServerPlan(
        name=entry.name, command=entry.command, args=entry.args, env=docker_client_env(entry.env)
    )
    if image is None or entry.walls is None:
        return plan
    create = entry.walls.sdk_kwargs()
    tail = entry.args[1 + len(entry.walls.docker_args()) :]  # the image and, for a prebuilt one, its command
    if tail[:2] == ["--pull", "never"]:  # the engine's API never pulls when it creates
        tail = tail[2:]
    if tail[:1] == ["--entrypoint"]:
        create["entrypoint"], tail = tail[1:2], tail[2:]
    if tail[:1] != [entry.image]:
        return plan
    if tail[1:]:
        create["command"] = tail[1:]
    image_at = len(entry.args) - len(tail)
    args = [*entry.args[:image_at], str(image.id), *tail[1:]]
    plan = plan.model_copy(
        update={"args": args, "tools_record": identity.labels_of(image).get(identity.TOOLS)}
    )
    if Path(entry.command).name != "docker":
        return plan
    env = {name: entry.env[name] for name in entry.walls.env_names if name in entry.env}
    body = engine.create_body(api_version, str(image.id), create, env)
    return plan.model_copy(update={"container": ContainerPlan(image=str(image.id), body=body)})


def run_gateway(
    settings: Settings, names: list[str], *, http: bool, host: str, port: int, token: str | None,
    labels: dict[str, str] | None = None, allowed_hosts: list[str] | None = None, metrics: bool = False,
) -> NoReturn:  # fmt: skip
    """Plans the gateway here, then this process becomes the runtime's gateway serving the plan."""
    if metrics and not http:
        raise KitError("metrics are served on the gateway's HTTP front, at /metrics",
                       hint="add --http (traces need no option: set OTEL_EXPORTER_OTLP_ENDPOINT)")  # fmt: skip
    plan = plan_gateway(settings, names, os.environ, labels)
    front = FrontPlan(http=http, host=host, port=port, token=token, allowed_hosts=allowed_hosts or [],
                      metrics=metrics)  # fmt: skip
    hand_over(plan.model_copy(update={"front": front}))


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
