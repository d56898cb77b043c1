"""The gateway's MCP surface: every server's tools, prompts, resources and resource templates under namespaced
names, filtered by the gateway's allow and deny lists, with the runtime's audit log and, per client (see
mcpkit_runtime.clients), the runtime's refusal policy (rate limits and budgets) applied here, across all servers.

It answers at once: servers start in the background (or at first use), tools/list is answered from a server's
recorded tools until it runs, and clients are sent notifications/tools/list_changed when what they were offered
changes (handshake-era sessions; the stateless era has no channel for it outside a request).

Names: `server__tool` and `server__prompt` (the separator is configurable; a server's name never contains it, so
names cannot collide); resource URIs become `server+uri` (a valid URI scheme prefix). Progress from a server reaches
the caller, a caller's cancellation reaches the server, `isError` results and protocol errors pass through as they
are. The health of every server is the resource `gateway://health`.
"""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
import dataclasses
import json
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio
import mcp_types as types
from mcp import Client, MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.shared.dispatcher import ProgressFnT
from mcp_types import INVALID_PARAMS

from mcpkit_runtime import __version__, sdk
from mcpkit_runtime.audit import AuditLog, Call, timed
from mcpkit_runtime.clients import client_key
from mcpkit_runtime.gateway import relay
from mcpkit_runtime.gateway.downstream import Downstream, DownstreamDown
from mcpkit_runtime.gateway.isolation import Instances
from mcpkit_runtime.gateway.listing import Fetch, Recorded, lists
from mcpkit_runtime.gateway.recorded import ToolCache
from mcpkit_runtime.gateway.results import error_result, list_tools_page, same_tools
from mcpkit_runtime.gateway.settings import GatewaySettings
from mcpkit_runtime.policy import Policy
from mcpkit_runtime.redact import redact_arguments

if TYPE_CHECKING:
    from mcpkit_runtime.gateway.front import DirectStdio
    from mcpkit_runtime.gateway.front_http import DirectHttp
    from mcpkit_runtime.gateway.observe import Observer
    from mcpkit_runtime.stdio import GuardedStdio

T = TypeVar("T")
HEALTH_URI = "gateway://health"
INSTRUCTIONS = "Tools, prompts and resources of several servers, each named after its server: SERVER__NAME."


class GatewayServer(Server[Any]):
    """The low-level server, announcing that its tool list can change (servers start after the first answer)."""

    def create_initialization_options(
        self, notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        options = notification_options or NotificationOptions(tools_changed=True)
        return super().create_initialization_options(options, *args, **kwargs)


class Gateway:
    def __init__(
        self,
        downstreams: list[Downstream],
        settings: GatewaySettings,
        audit: AuditLog | None = None,
        cache: ToolCache | None = None,
    ) -> None:
        self.downstreams = {d.name: d for d in downstreams}
        self.cache = cache  # each server's tools as it last listed them, to answer with before it runs
        self.settings = settings
        self.audit = audit or AuditLog("mcpkit-gateway", __version__)
        self.policy = Policy(settings.limits())
        self.instances = Instances(settings, lambda: self.task_group)
        self._group: anyio.abc.TaskGroup | None = None
        self._safe_to_repeat: set[str] = set()  # namespaced tools that say they are read-only or idempotent
        self._offered: dict[
            str, list[types.Tool] | None
        ] = {}  # per server, the tools last offered (None: none)
        self._listeners: weakref.WeakSet[Any] = (
            weakref.WeakSet()
        )  # connections told when the tool list changes
        self.ready_seconds: float | None = None  # from the start to every eager server started (or failed)
        self.observer: Observer | None = None  # traces and metrics, when on (gateway.observe)
        for downstream in downstreams:
            downstream.on_ready = self._on_ready
            if downstream.recorded is None and cache is not None:
                downstream.recorded = cache.load(downstream)

    # -- lifecycle ------------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Gateway]:
        """Serving at once: eager servers start in the background, and nothing waits for them but a request that
        needs one (a call, or a list a server has no recorded answer for)."""
        async with anyio.create_task_group() as group:
            self._group = group
            if self.settings.start == "eager":
                for downstream in self._shared():
                    downstream.start_in_background(group)
                group.start_soon(self._time_readiness, time.perf_counter())
            if self.settings.isolation:
                group.start_soon(self.instances.sweeping)
            try:
                yield self
            finally:
                for downstream in self.downstreams.values():
                    await downstream.stop()
                await self.instances.stop()
                group.cancel_scope.cancel()

    def _shared(self) -> list[Downstream]:
        """The servers every client shares (a per-client server starts for each client, at its first request)."""
        return [d for d in self.downstreams.values() if self.settings.isolation.get(d.name) != "per-client"]

    async def settled(self) -> float:
        """Seconds from the start until every eager server was ready or had failed (for the benchmark)."""
        while self.ready_seconds is None:
            await anyio.sleep(0.01)
        return self.ready_seconds

    async def _time_readiness(self, started: float) -> None:
        while any(d.health.state in ("stopped", "starting") for d in self._shared()):
            await anyio.sleep(0.01)
        self.ready_seconds = time.perf_counter() - started

    @property
    def task_group(self) -> anyio.abc.TaskGroup:
        """Where the gateway's own tasks run (the direct path's calls among them) while it serves."""
        if self._group is None:
            raise RuntimeError("the gateway is not running")
        return self._group

    def stdio_front(self, stdio: GuardedStdio) -> DirectStdio:
        """The stdio the server is served on, with the hot tools/call answered by the gateway (gateway.front)."""
        from mcpkit_runtime.gateway.front import DirectStdio

        return DirectStdio(stdio, self)

    def http_front(self, app: Any, server: Server[Any]) -> DirectHttp:
        """The SDK's streamable-HTTP app for `server`, with the hot tools/call answered by the gateway
        (gateway.front_http)."""
        from mcpkit_runtime.gateway.front_http import DirectHttp

        return DirectHttp(app, server, self)

    def server(self) -> Server[Any]:
        """The MCP server clients talk to."""

        @asynccontextmanager
        async def lifespan(_: Server[Any]) -> AsyncIterator[dict[str, Any]]:
            async with self.running():
                yield {}

        return GatewayServer(
            "mcpkit-gateway",
            version=__version__,
            instructions=INSTRUCTIONS,
            lifespan=lifespan,
            get_tool_input_schema=self.input_schema,
            on_list_tools=self.list_tools,
            # A dict result is served as it is (the SDK dumps models and copies dicts); its annotation names models.
            on_call_tool=cast(Any, self.call_tool),
            on_list_prompts=self.list_prompts,
            on_get_prompt=self.get_prompt,
            on_list_resources=self.list_resources,
            on_list_resource_templates=self.list_resource_templates,
            on_read_resource=self.read_resource,
        )

    def health(self) -> dict[str, Any]:
        """`status` is "degraded" while a server cannot start (its `last_error` says why); the others serve."""
        servers = {name: dataclasses.asdict(d.health) for name, d in self.downstreams.items()}
        failing = [name for name, h in servers.items() if h["state"] == "failed"]
        return {
            "status": "degraded" if failing else "ok",
            "gateway": __version__,
            "servers": servers,
            "clients": self.policy.clients.figures(),
            "per_client_instances": self.instances.counts(),
            "ready_seconds": self.ready_seconds,
        }

    # -- names ----------------------------------------------------------------------------------------------------

    def _named(self, server: str, name: str) -> str:
        return f"{server}{self.settings.separator}{name}"

    def _split(self, name: str) -> tuple[Downstream, str]:
        found = self.offered(name)
        if found is None:
            raise MCPError(
                INVALID_PARAMS, f"unknown tool or prompt {name!r}; tools/list and prompts/list name them"
            )
        return found

    def offered(self, name: str) -> tuple[Downstream, str] | None:
        """As _split, None for a name the gateway does not offer."""
        server, separator, inner = name.partition(self.settings.separator)
        downstream = self.downstreams.get(server)
        if not separator or downstream is None or not self.settings.shows(server, inner):
            return None
        return downstream, inner

    def _split_uri(self, uri: str) -> tuple[Downstream, str]:
        server, plus, inner = uri.partition("+")
        downstream = self.downstreams.get(server)
        if not plus or downstream is None:
            raise MCPError(INVALID_PARAMS, f"unknown resource {uri!r}; resources/list names them")
        return downstream, inner

    async def _gather(
        self, fetch: Fetch, field: str, recorded: Recorded = lambda _: None, client: str = "stdio"
    ) -> list[tuple[str, Any]]:
        """Each item of `field` in every answering server's list (see listing.lists), with its server's name, in the
        servers' order."""
        results = await self._lists(fetch, field, recorded, client=client)
        return [(name, item) for name in self.downstreams if name in results for item in results[name]]

    async def _lists(
        self,
        fetch: Fetch,
        field: str,
        recorded: Recorded,
        only: list[Downstream] | None = None,
        client: str = "stdio",
    ) -> dict[str, list[Any]]:
        """As _gather, by server; `only` those instances, or every server as `client` sees it."""
        targets = only or [self.instances.of(d, client) for d in self.downstreams.values()]
        return await lists(targets, fetch, field, recorded, self.task_group)

    async def _forwarded(
        self, downstream: Downstream, name: str, action: Callable[[Client], Awaitable[T]]
    ) -> T:
        """A request passed to one server; a server that is down is the caller's internal error, naming `name`."""
        try:
            return await downstream.call(self.task_group, action)
        except DownstreamDown as exc:
            raise MCPError(types.INTERNAL_ERROR, f"{name}: {exc}") from None

    # -- tools ----------------------------------------------------------------------------------------------------

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        connection = sdk.connection_of(ctx.session)
        if connection is not None:
            self._listeners.add(connection)
        lists = await self._lists(
            list_tools_page, "tools", lambda d: d.recorded, client=client_key(ctx, "stdio")
        )
        for name, downstream in self.downstreams.items():
            self._offered[name] = lists.get(name)
            if name in lists and lists[name] is not downstream.recorded:  # a live answer
                self._remember(downstream, lists[name])
        tools = [
            t.model_copy(update={"name": self._named(server, t.name)})
            for server in self.downstreams
            for t in lists.get(server, [])
            if self.settings.shows(server, t.name)
        ]
        self._safe_to_repeat |= {
            t.name
            for t in tools
            if t.annotations and (t.annotations.read_only_hint or t.annotations.idempotent_hint)
        }
        return types.ListToolsResult(tools=tools)

    def input_schema(self, name: str) -> dict[str, Any] | None:
        """The input schema of the tool `name` as last offered, for the SDK's check of a stateless-era call's
        Mcp-Param headers, which without it lists every server's tools for each call; None when it is not known
        (the SDK skips the check, as it does for a name its listing does not find)."""
        found = self.offered(name)
        if found is None:
            return None
        downstream, inner = found
        tools = self._offered.get(downstream.name) or downstream.recorded or []
        return next((dict(t.input_schema) for t in tools if t.name == inner), None)

    async def _on_ready(self, downstream: Downstream) -> None:
        """A server just started: when the tools it has differ from those last offered for it (a recorded list
        gone stale, or none offered because it was down), clients are told to list them again."""
        if downstream.name not in self._offered and self.cache is None:
            return  # nobody has listed the tools yet, and there is nowhere to keep them
        live = (await self._lists(list_tools_page, "tools", lambda _: None, [downstream])).get(
            downstream.name
        )
        if live is None:
            return
        self._remember(downstream, live)
        if downstream.name not in self._offered or same_tools(live, self._offered[downstream.name]):
            return
        self._offered[downstream.name] = live
        for connection in list(self._listeners):
            # Best effort (it never raises): a stateless-era connection has no channel outside a request.
            await connection.notify("notifications/tools/list_changed", None)

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | dict[str, Any]:
        shared, tool = self._split(params.name)

        async def forward(progress: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(progress, total, message)  # a no-op when the caller did not ask

        return await self.tool_call(shared, tool, params.name, dict(params.arguments or {}),
                                    client_key(ctx, "stdio"), forward, direct=not sdk.progress_asked(ctx))  # fmt: skip

    async def tool_call(
        self,
        shared: Downstream,
        tool: str,
        name: str,
        arguments: dict[str, Any],
        session: str,
        forward: ProgressFnT | None = None,
        *,
        direct: bool = True,
    ) -> dict[str, Any] | types.CallToolResult:
        """One call of `tool` on `shared` (as `session` sees it) under the gateway's walls: its refusal policy, its
        audit line, a repeat of a call safe to repeat when the server died under it, a server's tool error naming
        `name`, traces and metrics. `direct`: on the server's own wire when it offers one (Downstream.call_tool_raw:
        no progress then), else through the SDK's session. A protocol error from the server is raised as MCPError."""
        downstream = self.instances.of(shared, session)

        async def once() -> dict[str, Any]:
            if direct:
                answer = await downstream.call_tool_raw(tool, arguments)
                if answer is not None and not _header_mismatch(answer):
                    return relay.answered(answer)
            return await downstream.call(
                self.task_group, lambda c: relay.call_tool(c, tool, arguments, forward)
            )

        call = Call({})
        try:
            with timed(self.audit, "tool_call", session=session, server=downstream.name, tool=name,
                       arguments=redact_arguments(arguments)) as call:  # fmt: skip
                refusal = self.policy.admit(name, session)
                if refusal is not None:
                    call.refuse(refusal.outcome, **refusal.facts)
                    return error_result(refusal.message)
                try:
                    try:
                        result = await once()
                    except DownstreamDown as exc:
                        # A server that died mid-call is started again; a call that is safe to repeat is repeated once.
                        if not (exc.died and name in self._safe_to_repeat):
                            raise
                        result = await once()
                except DownstreamDown as exc:
                    call.outcome = "server_down"
                    return error_result(f"{name}: {exc}")
                call.outcome = "error" if relay.is_error(result) else "ok"
                return relay.renamed_error(result, tool, name) if call.outcome == "error" else result
        finally:
            if self.observer:
                self.observer.tool_call(session, downstream.name, name, call.outcome, call.seconds)

    def _remember(self, downstream: Downstream, live: list[types.Tool]) -> None:
        """The freshest list, to answer with should the server restart, and the next time the gateway starts."""
        if not same_tools(live, downstream.recorded):
            downstream.recorded = live
            if self.cache is not None:
                self.cache.save(downstream, live)

    # -- prompts --------------------------------------------------------------------------------------------------

    async def list_prompts(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        prompts = [
            p.model_copy(update={"name": self._named(server, p.name)})
            for server, p in await self._gather(
                lambda c, cursor: c.list_prompts(cursor=cursor), "prompts", client=client_key(ctx, "stdio")
            )
            if self.settings.shows(server, p.name)
        ]
        return types.ListPromptsResult(prompts=prompts)

    async def get_prompt(
        self, ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        shared, prompt = self._split(params.name)
        downstream = self.instances.of(shared, client_key(ctx, "stdio"))
        return relay.unstamped(
            await self._forwarded(downstream, params.name, lambda c: c.get_prompt(prompt, params.arguments))
        )

    # -- resources ------------------------------------------------------------------------------------------------

    async def list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        resources = [types.Resource(uri=HEALTH_URI, name="gateway health", mime_type="application/json",
                                    description="Each server's state, restarts, calls and last error.")]  # fmt: skip
        resources += [
            r.model_copy(update={"uri": f"{server}+{r.uri}", "name": self._named(server, r.name)})
            for server, r in await self._gather(
                lambda c, cursor: c.list_resources(cursor=cursor),
                "resources",
                client=client_key(ctx, "stdio"),
            )
        ]
        return types.ListResourcesResult(resources=resources)

    async def list_resource_templates(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        templates = [
            t.model_copy(
                update={"uri_template": f"{server}+{t.uri_template}", "name": self._named(server, t.name)}
            )
            for server, t in await self._gather(
                lambda c, cursor: c.list_resource_templates(cursor=cursor),
                "resource_templates",
                client=client_key(ctx, "stdio"),
            )
        ]
        return types.ListResourceTemplatesResult(resource_templates=templates)

    async def read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if str(params.uri) == HEALTH_URI:
            text = json.dumps(self.health(), default=str)
            return types.ReadResourceResult(
                contents=[types.TextResourceContents(uri=HEALTH_URI, mime_type="application/json", text=text)]
            )
        shared, uri = self._split_uri(str(params.uri))
        downstream = self.instances.of(shared, client_key(ctx, "stdio"))
        result = relay.unstamped(
            await self._forwarded(downstream, str(params.uri), lambda c: c.read_resource(uri))
        )
        return result.model_copy(
            update={
                "contents": [
                    c.model_copy(update={"uri": f"{downstream.name}+{c.uri}"}) for c in result.contents
                ]
            }
        )


def _header_mismatch(answer: dict[str, Any]) -> bool:
    """A 2026-07-28 server's HEADER_MISMATCH: the SDK's session re-lists and resends (relay.call_tool)."""
    error = answer.get("error")
    return isinstance(error, dict) and error.get("code") == types.HEADER_MISMATCH
