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
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolRequestParams, CallToolResult, TextContent
from pydantic import BaseModel, ValidationError

from mcpkit_runtime import lenient, sdk
from mcpkit_runtime.audit import AuditLog, timed
from mcpkit_runtime.audit import audit_fields as audit_fields  # where the servers have imported it from
from mcpkit_runtime.clients import client_key
from mcpkit_runtime.config import RuntimeConfig
from mcpkit_runtime.job_tools import register_job_tools
from mcpkit_runtime.jobs import JobStore
from mcpkit_runtime.limits import Clock
from mcpkit_runtime.policy import Policy, Refusal
from mcpkit_runtime.redact import redact_arguments


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
        self.policy = Policy(self.config.limits(), clock)
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

    def session_of(self, ctx: ServerRequestContext[Any, Any]) -> str:
        """The calling client (mcpkit_runtime.clients: an HTTP session, a token or client id in the stateless era;
        over stdio a container serves one client, so the process)."""
        return client_key(ctx, self._process_session)

    async def _middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and isinstance(ctx.params, Mapping):
            return await call_next(dataclasses.replace(ctx, params=self._normalized(ctx.params)))
        if ctx.method == "resources/read" and isinstance(ctx.params, Mapping):
            uri = str(ctx.params.get("uri"))
            with timed(self.audit, "resource_read", session=self.session_of(ctx), uri=uri) as read:
                result = await call_next(ctx)
                read.outcome = "ok"
                return result
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
        session = self.session_of(ctx)
        arguments = dict(params.arguments or {})
        size = len(json.dumps(arguments, default=str))
        too_large = size > self.config.max_argument_bytes
        shown = (
            {"omitted": f"{size} bytes"}
            if too_large
            else redact_arguments(arguments, self.config.hidden_arguments)
        )
        facts = {"session": session, "tool": params.name, "arguments": shown,
                 "cost": self.config.cost_of(params.name), "result_bytes": 0}  # fmt: skip
        with timed(self.audit, "tool_call", **facts) as call:
            refusal = (
                self._too_large(size)
                if too_large
                else self.policy.admit(params.name, session, lambda: self._invalid(params.name, arguments))
            )
            call.fields["budget_remaining"] = self.policy.remaining(session)
            if refusal is not None:
                call.refuse(refusal.outcome, **refusal.facts)
                return CallToolResult(content=[TextContent(type="text", text=refusal.message)], is_error=True)
            result = await call_next(ctx)
            payload = (
                result.model_dump_json(by_alias=True)
                if isinstance(result, BaseModel)
                else json.dumps(result, default=str)
            )
            call.fields["result_bytes"] = len(payload)
            is_error = getattr(result, "is_error", None) or (
                isinstance(result, dict) and result.get("isError")
            )
            call.outcome = "error" if is_error else "ok"
            return result

    def _too_large(self, size: int) -> Refusal:
        limit = self.config.max_argument_bytes
        return Refusal(
            "refused_too_large",
            f"the arguments are {size} bytes; this server accepts at most {limit} (MCP_MAX_ARGUMENT_BYTES). "
            "Send less: a shorter text, fewer items.",
        )

    def _invalid(self, name: str, arguments: dict[str, Any]) -> Refusal | None:
        """Arguments the tool would reject, refused before they cost anything, with what it accepts."""
        tool = self._tool(name)
        if tool is None:
            return None
        try:
            sdk.validate_arguments(tool, arguments)
        except ValidationError as exc:
            return Refusal("invalid_arguments", lenient.explain(name, exc, tool.parameters))
        return None
