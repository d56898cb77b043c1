"""The gateway's MCP surface: every server's tools, prompts, resources and resource templates under namespaced
names, filtered by the gateway's allow and deny lists, with the runtime's audit log, rate limits and session budgets
applied here, across all servers.

Names: `server__tool` and `server__prompt` (the separator is configurable; a server's name never contains it, so
names cannot collide); resource URIs become `server+uri` (a valid URI scheme prefix). Progress from a server reaches
the caller, a caller's cancellation reaches the server, `isError` results and protocol errors pass through as they
are. The health of every server is the resource `gateway://health`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

import anyio
import mcp_types as types
from mcp import Client, MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp_types import INVALID_PARAMS

from mcpkit_runtime import __version__, sdk
from mcpkit_runtime.audit import AuditLog
from mcpkit_runtime.gateway.downstream import Downstream, DownstreamDown
from mcpkit_runtime.gateway.settings import GatewaySettings
from mcpkit_runtime.limits import Budget, TokenBucket
from mcpkit_runtime.redact import redact_arguments

T = TypeVar("T")
HEALTH_URI = "gateway://health"
INSTRUCTIONS = "Tools, prompts and resources of several servers, each named after its server: SERVER__NAME."


class Gateway:
    def __init__(
        self, downstreams: list[Downstream], settings: GatewaySettings, audit: AuditLog | None = None
    ) -> None:
        self.downstreams = {d.name: d for d in downstreams}
        self.settings = settings
        self.audit = audit or AuditLog("mcpkit-gateway", __version__)
        self._group: anyio.abc.TaskGroup | None = None
        self._buckets: dict[
            str, tuple[str, TokenBucket] | None
        ] = {}  # per namespaced tool: its limit as written
        self._budgets: dict[str, Budget] = {}
        self._safe_to_repeat: set[str] = set()  # namespaced tools that say they are read-only or idempotent
        self.ready_seconds: float | None = None  # from the start to every eager server answering

    # -- lifecycle ------------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Gateway]:
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            self._group = group
            if self.settings.start == "eager":
                async with anyio.create_task_group() as starting:
                    for downstream in self.downstreams.values():
                        starting.start_soon(self._start_quietly, downstream)
            self.ready_seconds = time.perf_counter() - started
            try:
                yield self
            finally:
                for downstream in self.downstreams.values():
                    await downstream.stop()
                group.cancel_scope.cancel()

    async def _start_quietly(self, downstream: Downstream) -> None:
        with suppress(DownstreamDown):  # reported in its health; the next call tries again
            await downstream.client(self._task_group)

    @property
    def _task_group(self) -> anyio.abc.TaskGroup:
        if self._group is None:
            raise RuntimeError("the gateway is not running")
        return self._group

    def server(self) -> Server[Any]:
        """The MCP server clients talk to."""

        @asynccontextmanager
        async def lifespan(_: Server[Any]) -> AsyncIterator[dict[str, Any]]:
            async with self.running():
                yield {}

        return Server(
            "mcpkit-gateway",
            version=__version__,
            instructions=INSTRUCTIONS,
            lifespan=lifespan,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            on_list_prompts=self.list_prompts,
            on_get_prompt=self.get_prompt,
            on_list_resources=self.list_resources,
            on_list_resource_templates=self.list_resource_templates,
            on_read_resource=self.read_resource,
        )

    def health(self) -> dict[str, Any]:
        return {
            "gateway": __version__,
            "servers": {name: dataclasses.asdict(d.health) for name, d in self.downstreams.items()},
            "ready_seconds": self.ready_seconds,
        }

    # -- names ----------------------------------------------------------------------------------------------------

    def _named(self, server: str, name: str) -> str:
        return f"{server}{self.settings.separator}{name}"

    def _split(self, name: str) -> tuple[Downstream, str]:
        server, separator, inner = name.partition(self.settings.separator)
        downstream = self.downstreams.get(server)
        if not separator or downstream is None or not self.settings.shows(server, inner):
            raise MCPError(
                INVALID_PARAMS, f"unknown tool or prompt {name!r}; tools/list and prompts/list name them"
            )
        return downstream, inner

    def _split_uri(self, uri: str) -> tuple[Downstream, str]:
        server, plus, inner = uri.partition("+")
        downstream = self.downstreams.get(server)
        if not plus or downstream is None:
            raise MCPError(INVALID_PARAMS, f"unknown resource {uri!r}; resources/list names them")
        return downstream, inner

    async def _gather(
        self, fetch: Callable[[Client, str | None], Awaitable[Any]], field: str
    ) -> list[tuple[str, Any]]:
        """Each item of `field` in every page of every answering server's list, with its server's name, in the
        servers' order; a server that does not answer is left out (its health says why)."""
        results: dict[str, list[Any]] = {}

        async def every_page(client: Client) -> list[Any]:
            items: list[Any] = []
            cursor = None
            while True:
                page = await fetch(client, cursor)
                items += getattr(page, field)
                cursor = page.next_cursor
                if not cursor:
                    return items

        async def one(downstream: Downstream) -> None:
            with suppress(DownstreamDown, MCPError):
                results[downstream.name] = await downstream.call(self._task_group, every_page)

        async with anyio.create_task_group() as group:
            for downstream in self.downstreams.values():
                group.start_soon(one, downstream)
        return [(name, item) for name in self.downstreams if name in results for item in results[name]]

    async def _forwarded(self, downstream: Downstream, action: Callable[[Client], Awaitable[T]]) -> T:
        """A request passed to one server; a server that is down is the caller's internal error."""
        try:
            return await downstream.call(self._task_group, action)
        except DownstreamDown as exc:
            raise MCPError(types.INTERNAL_ERROR, str(exc)) from None

    # -- tools ----------------------------------------------------------------------------------------------------

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        tools = [
            t.model_copy(update={"name": self._named(server, t.name)})
            for server, t in await self._gather(lambda c, cursor: c.list_tools(cursor=cursor), "tools")
            if self.settings.shows(server, t.name)
        ]
        self._safe_to_repeat |= {
            t.name
            for t in tools
            if t.annotations and (t.annotations.read_only_hint or t.annotations.idempotent_hint)
        }
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        downstream, tool = self._split(params.name)
        arguments = dict(params.arguments or {})
        session = sdk.transport_session_id(ctx.session) or "stdio"
        record = {"session": session, "server": downstream.name, "tool": params.name,
                  "arguments": redact_arguments(arguments)}  # fmt: skip
        refusal = self._refusal(params.name, session)
        if refusal:
            self.audit.record("tool_call", **record, outcome="refused", duration_ms=0.0)
            return _error(refusal)

        async def forward(progress: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(progress, total, message)  # a no-op when the caller did not ask

        started = time.perf_counter()
        outcome = "error"

        async def once() -> Any:
            return await downstream.call(
                self._task_group, lambda c: c.call_tool(tool, arguments, progress_callback=forward)
            )

        try:
            try:
                result = await once()
            except DownstreamDown as exc:
                # A server that died mid-call is started again; a call that is safe to repeat is repeated once.
                if not (exc.died and params.name in self._safe_to_repeat):
                    raise
                result = await once()
            outcome = "error" if getattr(result, "is_error", False) else "ok"
            return result
        except DownstreamDown as exc:
            outcome = "server_down"
            return _error(str(exc))
        finally:
            self.audit.record(
                "tool_call",
                **record,
                outcome=outcome,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    def _refusal(self, tool: str, session: str) -> str | None:
        if self.settings.session_budget is not None:
            if session not in self._budgets:
                self._budgets[session] = Budget(self.settings.session_budget)
            budget = self._budgets[session]
            if not budget.charge(1):
                return f"this session's budget of {budget.limit:g} calls through the gateway is used up"
        if tool not in self._buckets:
            rate = self.settings.rate_for(tool)
            self._buckets[tool] = (rate[0], TokenBucket(rate[1])) if rate else None
        limited = self._buckets[tool]
        if limited is not None:
            text, bucket = limited
            wait = bucket.take()
            if wait > 0:
                return f"rate limit for {tool} at the gateway ({text}); try again in {wait:.1f} s"
        return None

    # -- prompts --------------------------------------------------------------------------------------------------

    async def list_prompts(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        prompts = [
            p.model_copy(update={"name": self._named(server, p.name)})
            for server, p in await self._gather(lambda c, cursor: c.list_prompts(cursor=cursor), "prompts")
            if self.settings.shows(server, p.name)
        ]
        return types.ListPromptsResult(prompts=prompts)

    async def get_prompt(
        self, ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        downstream, prompt = self._split(params.name)
        return await self._forwarded(downstream, lambda c: c.get_prompt(prompt, params.arguments))

    # -- resources ------------------------------------------------------------------------------------------------

    async def list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        resources = [types.Resource(uri=HEALTH_URI, name="gateway health", mime_type="application/json",
                                    description="Each server's state, restarts, calls and last error.")]  # fmt: skip
        resources += [
            r.model_copy(update={"uri": f"{server}+{r.uri}", "name": self._named(server, r.name)})
            for server, r in await self._gather(
                lambda c, cursor: c.list_resources(cursor=cursor), "resources"
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
                lambda c, cursor: c.list_resource_templates(cursor=cursor), "resource_templates"
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
        downstream, uri = self._split_uri(str(params.uri))
        result = await self._forwarded(downstream, lambda c: c.read_resource(uri))
        return result.model_copy(
            update={
                "contents": [
                    c.model_copy(update={"uri": f"{downstream.name}+{c.uri}"}) for c in result.contents
                ]
            }
        )


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)
