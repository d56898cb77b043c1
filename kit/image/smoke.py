"""The smoke test every build must pass: start the container over stdio, handshake, list the tools."""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import anyio
from mcp import Client, MCPError
from mcp.client.stdio import stdio_client

from kit.containers.launch import LaunchEntry
from kit.errors import KitError
from kit.image.tools_record import record_text
from kit.project.servers import SmokeCheck


@dataclass(frozen=True)
class SmokeResult:
    snapshot: dict[
        str, Any
    ]  # server, version, tools with their schemas, resources: what `kit schema lock` records
    seconds: float
    tools_record: str | None = None  # the tools/list result, for the image's label (None: too large)

    @property
    def tools(self) -> list[str]:
        return list(self.snapshot["tools"])

    @property
    def server_name(self) -> str:
        return str(self.snapshot["server"])

    @property
    def server_version(self) -> str:
        return str(self.snapshot["version"])


class SmokeTestFailed(KitError):
    """The server did not answer; `stderr` is what the container wrote there."""

    def __init__(self, message: str, *, hint: str, stderr: str) -> None:
        super().__init__(message, hint=hint)
        self.stderr = stderr


def smoke_test(entry: LaunchEntry, check: SmokeCheck | None = None, *, timeout: float = 90.0) -> SmokeResult:
    """Start the server through `entry` as its client would, handshake, list its tools and resources, and make
    the call `check` declares. A check that says skip is the caller's to honour."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errlog:
        try:
            return anyio.run(_handshake, entry, errlog, timeout, check or SmokeCheck())
        except (
            Exception
        ) as failure:  # any failure, of the transport or the server, fails the build the same way
            exc: BaseException = failure
            while isinstance(exc, BaseExceptionGroup) and exc.exceptions:  # the task group's, not the cause
                exc = exc.exceptions[0]
            errlog.seek(0)
            stderr = errlog.read().strip()
            tail = "\n".join(stderr.splitlines()[-20:]) or "(no output on stderr)"
            raise SmokeTestFailed(
                f"smoke test failed ({type(exc).__name__}: {exc}); the container's stderr ended with:\n{tail}",
                hint="run the server locally (`python -m MODULE`) to debug, then `kit build` again; a server that "
                'cannot start without what the build lacks (its database) says so: smoke = { skip = "why" }',
                stderr=stderr,
            ) from None


class _CallFailed(Exception):
    pass


async def _handshake(entry: LaunchEntry, errlog: Any, timeout: float, check: SmokeCheck) -> SmokeResult:
    started = time.perf_counter()
    params = entry.stdio_params()
    with anyio.fail_after(timeout):
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            tools = await client.list_tools()
            info = client.server_info
            resources, templates = [], []
            with contextlib.suppress(MCPError):  # a server without resources may not answer these at all
                resources = [str(r.uri) for r in (await client.list_resources()).resources]
                templates = [
                    str(t.uri_template) for t in (await client.list_resource_templates()).resource_templates
                ]
            if check.tool:
                called = await client.call_tool(check.tool, check.arguments)
                if called.is_error:
                    text = " ".join(getattr(part, "text", "") for part in called.content)
                    raise _CallFailed(f"the declared call {check.tool} answered with an error: {text[:500]}")
    snapshot: dict[str, Any] = {
        "server": info.name if info else "",
        "version": info.version if info else "",
        "tools": {
            t.name: {"input_schema": t.input_schema, "output_schema": t.output_schema} for t in tools.tools
        },
        "resources": sorted(resources + templates),
    }
    return SmokeResult(snapshot, time.perf_counter() - started, record_text(tools))
