"""A gateway's plan: the servers behind it (each a container the engine's API creates with its walls, and the same
container as a `docker run` line), the tools recorded on each image, the gateway's settings and its front; as JSON.
Made without the MCP SDK (the kit's side never imports it), read and served with it.

`kit gateway` reads the project, finds the images and takes the secrets, then writes the plan to an unlinked file
and becomes `python -m mcpkit_runtime.gateway.plan FD -- ITS COMMAND LINE`, which serves it. The process that serves for hours so
holds the runtime and the SDK only: not the kit's CLI, project files, builder and their libraries (11 MiB of the
gateway's memory, measured). The pid stays the same, so the containers' gateway label still names it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, Field

from mcpkit_runtime.gateway.settings import GatewaySettings

# The hints `kit gateway` gives for what can stop the front from starting (the process is the runtime's by then).
OBSERVE_HINT = "or leave them off: drop --metrics, unset OTEL_EXPORTER_OTLP_ENDPOINT"
FRONT_HINT = "see `kit gateway --help` for --token-env and --allow-host"


class ContainerPlan(BaseModel):
    image: str  # the image's id, as found when the plan was made
    body: dict[str, Any]  # the engine's create request: its walls and the values of the variables it takes


class ServerPlan(BaseModel):
    name: str
    command: str  # its `docker run` line (or any command over stdio), as its client entry starts it
    args: list[str]
    env: dict[str, str]
    container: ContainerPlan | None = None  # the same container through the engine's API, where it can be
    tools_record: str | None = None  # the tools/list recorded on its image, as the image's label holds it

    def downstream(self) -> Any:
        from mcp.client.stdio import StdioServerParameters

        from mcpkit_runtime.gateway.downstream import Downstream
        from mcpkit_runtime.gateway.engine import ContainerTarget
        from mcpkit_runtime.gateway.recorded import parse_tools

        line = StdioServerParameters(command=self.command, args=self.args, env=self.env)
        try:
            recorded = parse_tools(self.tools_record) if self.tools_record else None
        except ValueError:  # a record unreadable here is as none: the tools are listed when the server runs
            recorded = None
        if self.container is None:
            return Downstream(self.name, line, recorded)
        target = ContainerTarget(self.container.image, self.container.body, line)
        return Downstream(self.name, target, recorded)


class FrontPlan(BaseModel):
    http: bool = False
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    allowed_hosts: list[str] = Field(default_factory=list)
    metrics: bool = False


class GatewayPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    servers: list[ServerPlan]
    settings: GatewaySettings
    tool_cache: Path | None = None  # where tool lists of servers started without a record are kept
    front: FrontPlan = Field(default_factory=FrontPlan)

    def gateway(self) -> Any:
        from mcpkit_runtime.gateway.proxy import Gateway
        from mcpkit_runtime.gateway.recorded import ToolCache

        cache = ToolCache(self.tool_cache) if self.tool_cache else None
        return Gateway([server.downstream() for server in self.servers], self.settings, cache=cache)


def hand_over(plan: GatewayPlan) -> NoReturn:
    """This process becomes the runtime's gateway serving `plan` (same pid, stdio and environment)."""
    descriptor = _memory_file(plan.model_dump_json(by_alias=True).encode())
    os.set_inheritable(descriptor, True)
    sys.stdout.flush()
    sys.stderr.flush()
    # -P: the current directory (a project's, maybe) is not put on the import path, as a console script's start
    # does not. The command line it was started by stays at its end, so `ps` still tells which gateway this is.
    program = [sys.executable, "-P", "-m", "mcpkit_runtime.gateway.plan", str(descriptor), "--", *sys.argv]
    os.execv(sys.executable, program)


def _memory_file(data: bytes) -> int:
    """A descriptor of a file holding `data` (the plan holds secrets' values): in memory where the system has
    memfd_create, else an unlinked temporary file (mode 0600)."""
    if hasattr(os, "memfd_create"):
        descriptor = os.memfd_create("mcpkit-gateway-plan")
    else:
        with tempfile.TemporaryFile() as held:
            descriptor = os.dup(held.fileno())  # the duplicate outlives the file object, the file is unlinked
    os.write(descriptor, data)
    return descriptor


def serve(plan: GatewayPlan) -> None:
    """Serve `plan` on its front until the client goes; what stops the front from starting goes to stderr as the
    kit says an error (its message and a hint), and the exit status is 1, as for any error of the kit."""
    from mcpkit_runtime import logs
    from mcpkit_runtime.gateway.observe import ObserveUnavailable, observe

    logs.configure()
    gateway = plan.gateway()
    front = plan.front
    try:
        kept, shutdown = observe(gateway, os.environ, metrics=front.metrics)
    except ObserveUnavailable as exc:
        _refuse(str(exc), OBSERVE_HINT)
    try:
        if not front.http:
            from mcpkit_runtime import stdio

            stdio.serve(gateway.server(), front=gateway.stdio_front)
            return
        from mcpkit_runtime import http

        names = http.OptionNames(token="MCP_HTTP_TOKEN (or --token-env NAME)", allowed_hosts="--allow-host")
        try:
            http.serve(gateway.server(), host=front.host, port=front.port, token=front.token,
                       health=gateway.health, allowed_hosts=front.allowed_hosts,
                       idle_seconds=gateway.settings.session_idle_seconds, names=names,
                       metrics=kept.render if kept else None, front=gateway.http_front)  # fmt: skip
        except ValueError as exc:
            _refuse(str(exc), FRONT_HINT)
    finally:
        shutdown()


def _refuse(message: str, hint: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\nhint: {hint}\n")
    sys.exit(1)


def main() -> None:
    descriptor = int(sys.argv[1])
    with os.fdopen(descriptor, "rb") as held:
        held.seek(0)
        plan = GatewayPlan.model_validate_json(held.read())
    serve(plan)


if __name__ == "__main__":
    main()
