"""`Runtime.create_server(...)`: an MCPServer with the production checklist wired in.

Every tools/call is normalised (lenient parsing) before the SDK validates it, checked against the tool's rate limit
and the session's budget, validated with errors that teach the model, run, and audited; every resource read is
audited. Refusals are ordinary tool errors the model reads; each is also an audit line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolRequestParams, CallToolResult, TextContent
from pydantic import BaseModel, ValidationError

from mcpkit_runtime import lenient, sdk
from mcpkit_runtime.audit import AuditLog
from mcpkit_runtime.clients import ClientTable, client_key
from mcpkit_runtime.config import RuntimeConfig
from mcpkit_runtime.job_tools import register_job_tools
from mcpkit_runtime.jobs import JobStore
from mcpkit_runtime.limits import Budget, Clock, TokenBucket
from mcpkit_runtime.redact import redact_arguments

_AUDIT_FIELDS: ContextVar[dict[str, Any] | None] = ContextVar("mcpkit_audit_fields", default=None)


def audit_fields(**fields: Any) -> None:
    """Facts about the call in progress (rows returned, columns masked) for its audit line: one line per call says
    what was asked and what came of it. The tool may run in a worker thread; the call's context reaches it there."""
    current = _AUDIT_FIELDS.get()
    if current is not None:
        current.update(fields)


@contextmanager
def _rich_skipped_when_logging_is_configured() -> Iterator[None]:
    """MCPServer() imports rich for a log handler that logging.basicConfig then drops when logging is configured
    already (the servers' JSON lines on stderr): a tenth of a second of every start, for nothing. The SDK falls back
    to a plain handler when rich is missing; it is made to look missing for that moment only."""
    if not logging.getLogger().handlers or "rich.console" in sys.modules:
        yield
        return
    sys.modules["rich.console"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("rich.console", ...) is None:
            del sys.modules["rich.console"]


class Runtime:
    def __init__(
        self,
        name: str,
        version: str,
        config: RuntimeConfig | None = None,
        *,
        synonyms: Mapping[str, lenient.Synonyms] | None = None,  # tool -> parameter -> {synonym: value}
        clock: Clock = time.monotonic,
        audit: AuditLog | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.config = config or RuntimeConfig()
        self.synonyms = synonyms or {}
        self.clock = clock
        self.audit = audit or AuditLog(name, version, self.config.audit_file)
        self._buckets: dict[str, TokenBucket] = {}
        limit = self.config.session_budget
        self.clients: ClientTable[Budget | None] = ClientTable(
            lambda: Budget(limit) if limit is not None else None,
            self.config.session_idle_seconds,
            clock=clock,
        )
        self._server: MCPServer | None = None
        self._jobs: JobStore | None = None
        self._process_session = f"stdio-{uuid.uuid4().hex[:8]}"

    def create_server(self, *, extensions: list[Extension] | None = None, **kwargs: Any) -> MCPServer:
        runtime = self

        class Interceptor(Extension):
            identifier = "io.mcpkit/runtime"

            async def intercept_tool_call(
                self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
            ) -> HandlerResult:
                return await runtime._tool_call(params, ctx, call_next)

        with _rich_skipped_when_logging_is_configured():
            self._server = MCPServer(
                self.name,
                version=self.version,
                middleware=[self._middleware],
                extensions=[Interceptor(), *(extensions or [])],
                **kwargs,
            )
        return self._server

    def enable_jobs(self) -> JobStore:
        """A job store with the configured bounds, and its tools (job_status, job_wait, job_result, cancel_job)."""
        if self._server is None:
            raise RuntimeError("create_server() first: the job tools are registered on the server")
        if self._jobs is None:
            config = self.config
            self._jobs = JobStore(config.job_concurrency, config.job_ttl_seconds, config.job_max)
            register_job_tools(self._server, self._jobs)
        return self._jobs

    def session_of(self, ctx: ServerRequestContext[Any, Any]) -> tuple[str, Budget | None]:
        """The calling client (mcpkit_runtime.clients: an HTTP session, a token or client id in the stateless era;
        over stdio a container serves one client, so the process) and its budget."""
        session = client_key(ctx, self._process_session)
        return session, self.clients.get(session)

    async def _middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and isinstance(ctx.params, Mapping):
            return await call_next(dataclasses.replace(ctx, params=self._normalized(ctx.params)))
        if ctx.method == "resources/read" and isinstance(ctx.params, Mapping):
            started = time.perf_counter()
            outcome = "error"
            try:
                result = await call_next(ctx)
                outcome = "ok"
                return result
            finally:
                self.audit.record(
                    "resource_read",
                    session=self.session_of(ctx)[0],
                    uri=str(ctx.params.get("uri")),
                    outcome=outcome,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
        return await call_next(ctx)

    def _normalized(self, params: Mapping[str, Any]) -> dict[str, Any]:
        tool = self._tool(params.get("name"))
        arguments = params.get("arguments")
        if tool is None or not isinstance(arguments, Mapping):
            return dict(params)
        fixed = lenient.normalize(arguments, tool.parameters, self.synonyms.get(tool.name))
        return {**params, "arguments": fixed}

    def _tool(self, name: Any) -> Any:
        return None if self._server is None else sdk.find_tool(self._server, name)

    async def _tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        session, budget = self.session_of(ctx)
        arguments = dict(params.arguments or {})
        cost = self.config.cost_of(params.name)
        size = len(json.dumps(arguments, default=str))
        too_large = size > self.config.max_argument_bytes
        base = {
            "session": session,
            "tool": params.name,
            "arguments": {"omitted": f"{size} bytes"}
            if too_large
            else redact_arguments(arguments, self.config.hidden_arguments),
            "cost": cost,
        }
        started = time.perf_counter()

        def refuse(outcome: str, message: str, **extra: Any) -> CallToolResult:
            self.audit.record("tool_call", **base, outcome=outcome, duration_ms=0.0, result_bytes=0, **extra)
            return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)

        if too_large:
            return refuse(
                "refused_too_large",
                f"the arguments are {size} bytes; this server accepts at most {self.config.max_argument_bytes} "
                "(MCP_MAX_ARGUMENT_BYTES). Send less: a shorter text, fewer items.",
            )
        if budget is not None and budget.remaining < cost:
            return refuse(
                "refused_budget",
                f"this session's budget of {budget.limit:g} calls is used up ({params.name} costs {cost:g}). "
                "Finish with what you have; a new session starts a new budget.",
            )
        tool = self._tool(params.name)
        if tool is not None:
            try:
                sdk.validate_arguments(tool, arguments)
            except ValidationError as exc:
                return refuse("invalid_arguments", lenient.explain(params.name, exc, tool.parameters))
        rate = self.config.rate_for(params.name)
        if rate is not None:
            bucket = self._buckets.setdefault(params.name, TokenBucket(rate, self.clock))
            wait = bucket.take(cost)
            if wait > 0:
                return refuse(
                    "refused_rate_limit",
                    f"rate limit for {params.name}: at most {rate.per_second * 60:g} calls per minute "
                    f"(bursts of {rate.burst:g}). Try again in {wait:.1f} s.",
                    retry_after_seconds=round(wait, 3),
                )
        if budget is not None:
            budget.charge(cost)
        outcome = "error"
        size = 0
        reported: dict[str, Any] = {}
        _AUDIT_FIELDS.set(reported)
        try:
            result = await call_next(ctx)
            payload = (
                result.model_dump_json(by_alias=True)
                if isinstance(result, BaseModel)
                else json.dumps(result, default=str)
            )
            size = len(payload)
            is_error = getattr(result, "is_error", None) or (
                isinstance(result, dict) and result.get("isError")
            )
            outcome = "error" if is_error else "ok"
            return result
        finally:
            own = {
                **base,
                "outcome": outcome,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "result_bytes": size,
                "budget_remaining": None if budget is None else budget.remaining,
            }
            self.audit.record(
                "tool_call", **{**reported, **own}
            )  # the runtime's own facts are not overridden
