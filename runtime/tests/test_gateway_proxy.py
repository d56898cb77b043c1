"""The gateway's surface, in process: two real MCP servers behind it (the SDK's in-memory transport stands in for
the containers, which the integration tier starts for real)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from mcpkit_runtime.audit import AuditLog
from mcpkit_runtime.gateway.downstream import Downstream
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.recorded import ToolCache
from mcpkit_runtime.gateway.settings import GatewaySettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _alpha() -> MCPServer:
    server = MCPServer("alpha", version="1.0")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool()
    def fail(reason: str) -> str:
        raise ToolError(f"failed: {reason}")

    @server.tool()
    async def slow(steps: Annotated[int, Field(ge=1)], ctx: Context) -> str:
        for step in range(steps):
            await ctx.report_progress(step + 1, steps, f"step {step + 1}")
        return "done"

    @server.resource("notes://today", mime_type="text/plain")
    def today() -> str:
        return "alpha's note"

    @server.prompt()
    def greet(name: str) -> str:
        return f"Hello {name}"

    return server


def _beta() -> MCPServer:
    server = MCPServer("beta", version="2.0")

    @server.tool()
    def add(text: str) -> str:  # the same name as alpha's: namespacing keeps them apart
        return text * 2

    @server.tool()
    def secret_admin() -> str:
        return "should be hidden"

    return server


def _gateway(**settings: Any) -> Gateway:
    return Gateway([Downstream("alpha", _alpha()), Downstream("beta", _beta())], GatewaySettings(**settings))


async def test_tools_of_every_server_under_namespaced_names_filtered() -> None:
    async with Client(_gateway(deny={"beta": ["secret_*"]}).server()) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert names == ["alpha__add", "alpha__fail", "alpha__slow", "beta__add"]
        assert (await client.call_tool("alpha__add", {"a": 2, "b": 3})).structured_content == {"result": 5}
        assert (await client.call_tool("beta__add", {"text": "ab"})).structured_content == {"result": "abab"}
        with pytest.raises(MCPError, match="unknown tool"):
            await client.call_tool("beta__secret_admin", {})


async def test_an_allow_list_shows_only_what_it_names() -> None:
    async with Client(_gateway(allow={"alpha": ["add"]}, separator=".").server()) as client:
        assert [t.name for t in (await client.list_tools()).tools] == [
            "alpha.add",
            "beta.add",
            "beta.secret_admin",
        ]


async def test_errors_pass_through_as_the_server_gave_them() -> None:
    async with Client(_gateway().server()) as client:
        failed = await client.call_tool("alpha__fail", {"reason": "because"})
        assert failed.is_error and "failed: because" in failed.content[0].text
        invalid = await client.call_tool("alpha__add", {"a": "x"})
        assert invalid.is_error


async def test_progress_from_a_server_reaches_the_caller() -> None:
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    async with Client(_gateway().server()) as client:
        result = await client.call_tool("alpha__slow", {"steps": 3}, progress_callback=on_progress)
    assert result.structured_content == {"result": "done"}
    assert seen == [(1.0, "step 1"), (2.0, "step 2"), (3.0, "step 3")]


async def test_resources_and_prompts_are_namespaced_and_health_is_a_resource() -> None:
    async with Client(_gateway().server()) as client:
        uris = [str(r.uri) for r in (await client.list_resources()).resources]
        assert uris == ["gateway://health", "alpha+notes://today"]
        assert (await client.read_resource("alpha+notes://today")).contents[0].text == "alpha's note"
        health = json.loads((await client.read_resource("gateway://health")).contents[0].text)
        assert {s: h["state"] for s, h in health["servers"].items()} == {"alpha": "ready", "beta": "ready"}
        assert [p.name for p in (await client.list_prompts()).prompts] == ["alpha__greet"]
        prompt = await client.get_prompt("alpha__greet", {"name": "Ada"})
        assert "Hello Ada" in prompt.messages[0].content.text


async def test_limits_apply_at_the_gateway_across_servers_and_every_call_is_one_audit_line() -> None:
    stream = io.StringIO()
    settings = GatewaySettings(**{"rate-limits": {"alpha__add": "2/min:2"}, "session-budget": 3})
    gateway = Gateway([Downstream("alpha", _alpha()), Downstream("beta", _beta())], settings,
                      audit=AuditLog("mcpkit-gateway", "1.0", stream=stream))  # fmt: skip
    async with Client(gateway.server()) as client:
        outcomes = [await client.call_tool("alpha__add", {"a": 1, "b": 1}) for _ in range(3)]
        assert [r.is_error for r in outcomes] == [False, False, True]
        assert "rate limit for alpha__add at the gateway" in outcomes[2].content[0].text
        assert "Try again in" in outcomes[2].content[0].text, "when to retry"
        assert not (await client.call_tool("beta__add", {"text": "x"})).is_error, "the refusal spent nothing"
        budget = await client.call_tool("beta__add", {"text": "x"})
        assert budget.is_error and "budget of 3 calls at the gateway is used up" in budget.content[0].text, (
            "the budget counts calls to every server"
        )
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(a["server"], a["outcome"]) for a in lines] == [("alpha", "ok"), ("alpha", "ok"),
        ("alpha", "refused_rate_limit"), ("beta", "ok"), ("beta", "refused_budget")]  # fmt: skip
    assert lines[2]["retry_after_seconds"] > 0 and lines[2]["duration_ms"] == 0.0 < lines[0]["duration_ms"]


async def test_every_page_of_a_servers_lists_is_offered() -> None:
    names = [f"tool{i}" for i in range(5)]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        start = int(params.cursor) if params and params.cursor else 0
        page = [types.Tool(name=n, input_schema={"type": "object"}) for n in names[start : start + 2]]
        following = str(start + 2) if start + 2 < len(names) else None
        return types.ListToolsResult(tools=page, next_cursor=following)

    paged = Server("paged", on_list_tools=list_tools)
    gateway = Gateway([Downstream("paged", paged)], GatewaySettings())
    async with Client(gateway.server()) as client:
        assert [t.name for t in (await client.list_tools()).tools] == [f"paged__{n}" for n in names]


def test_a_rate_written_wrong_is_refused_when_the_settings_are_read() -> None:
    with pytest.raises(ValueError, match="write COUNT/UNIT"):
        GatewaySettings.model_validate({"rate-limits": {"alpha__add": "often"}})


async def test_a_server_that_cannot_start_is_left_out_and_reported() -> None:
    class Broken:
        pass

    gateway = Gateway([Downstream("alpha", _alpha()), Downstream("broken", Broken())], GatewaySettings())
    async with Client(gateway.server()) as client:
        assert next(t.name for t in (await client.list_tools()).tools) == "alpha__add"
        health = json.loads((await client.read_resource("gateway://health")).contents[0].text)
        assert health["servers"]["broken"]["state"] == "failed" and health["servers"]["broken"]["last_error"]
        assert health["status"] == "degraded" and health["servers"]["alpha"]["state"] == "ready"
        down = await client.call_tool("broken__anything", {})
        assert down.is_error and down.content[0].text.startswith("broken__anything: broken cannot start")
    await anyio.sleep(0)


async def test_a_callers_cancellation_reaches_the_server() -> None:
    started, stopped = anyio.Event(), anyio.Event()
    server = MCPServer("waiter")

    @server.tool()
    async def wait_forever() -> str:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            stopped.set()
        return "never"

    gateway = Gateway([Downstream("waiter", server)], GatewaySettings())
    async with Client(gateway.server()) as client:
        with anyio.move_on_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "waiter__wait_forever", {})
                await started.wait()
                group.cancel_scope.cancel()
        with anyio.fail_after(10):
            await stopped.wait()


async def test_a_server_that_cannot_start_fails_calls_at_once_with_the_reason_it_gave() -> None:
    # A real process that fails the way a misconfigured server does: a reason on stderr, then exit.
    failing = StdioServerParameters(command=sys.executable, args=["-c", (
        "import sys; print('starting', file=sys.stderr); "
        "print('cannot start: ANALYST_DSN is not set', file=sys.stderr); sys.exit(3)")])  # fmt: skip
    gateway = Gateway([Downstream("alpha", _alpha()), Downstream("broken", failing)], GatewaySettings())
    async with Client(gateway.server()) as client:
        await gateway.settled()
        assert next(t.name for t in (await client.list_tools()).tools) == "alpha__add", "the others serve"
        for _ in range(3):  # not one of them waits for a retry
            down = await client.call_tool("broken__run_sql", {})
            assert down.is_error and down.content[0].text.startswith("broken__run_sql: broken cannot start:")
            assert "ANALYST_DSN is not set" in down.content[0].text and "next try in" in down.content[0].text
        assert not (await client.call_tool("alpha__add", {"a": 1, "b": 2})).is_error
        health = json.loads((await client.read_resource("gateway://health")).contents[0].text)
    assert health["status"] == "degraded"
    assert "ANALYST_DSN is not set" in health["servers"]["broken"]["last_error"]


async def test_the_handshake_and_tools_list_do_not_wait_for_a_server_that_is_starting() -> None:
    release = anyio.Event()

    @asynccontextmanager
    async def slow_start(_: MCPServer) -> AsyncIterator[dict[str, Any]]:
        await release.wait()  # a container still starting
        yield {}

    slow = MCPServer("slow", lifespan=slow_start)

    @slow.tool()
    def add(a: int, b: int) -> int:
        return a + b

    recorded = [types.Tool(name="add", description="recorded at build", input_schema={"type": "object"})]
    changed: list[str] = []

    async def on_message(message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if method:
            changed.append(method)

    gateway = Gateway([Downstream("slow", slow, recorded=recorded)], GatewaySettings())
    async with Client(gateway.server(), mode="legacy", message_handler=on_message) as client:
        assert client.server_capabilities.tools and client.server_capabilities.tools.list_changed
        tools = (await client.list_tools()).tools
        assert [(t.name, t.description) for t in tools] == [("slow__add", "recorded at build")]
        assert gateway.downstreams["slow"].health.state == "starting"
        release.set()
        assert (await client.call_tool("slow__add", {"a": 2, "b": 2})).structured_content == {"result": 4}
        with anyio.fail_after(10):
            while "notifications/tools/list_changed" not in changed:
                await anyio.sleep(0.01)
        live = (await client.list_tools()).tools
        assert live[0].description != "recorded at build", "the live list once the server runs"


async def test_a_lazy_server_with_a_recorded_list_is_not_started_to_list_it() -> None:
    recorded = [types.Tool(name="add", input_schema={"type": "object"})]
    gateway = Gateway([Downstream("alpha", _alpha(), recorded=recorded)], GatewaySettings(start="lazy"))
    async with Client(gateway.server()) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["alpha__add"]
        assert gateway.downstreams["alpha"].health.state == "stopped"
        assert (await client.call_tool("alpha__add", {"a": 1, "b": 1})).structured_content == {"result": 2}
        assert gateway.downstreams["alpha"].health.state == "ready", "started at its first call"


async def test_a_servers_tool_error_names_the_tool_as_the_caller_knows_it() -> None:
    async with Client(_gateway().server()) as client:
        invalid = await client.call_tool("alpha__add", {"a": "x"})
        assert invalid.is_error and invalid.content[0].text.startswith("Error executing tool alpha__add")


async def test_a_server_that_hangs_while_starting_is_stopped_and_reported() -> None:
    stopped = anyio.Event()

    @asynccontextmanager
    async def never_ready(_: MCPServer) -> AsyncIterator[dict[str, Any]]:
        try:
            await anyio.sleep_forever()
        finally:
            stopped.set()
        yield {}

    hanging = Downstream("hanging", MCPServer("hanging", lifespan=never_ready), start_seconds=0.2)
    gateway = Gateway([Downstream("alpha", _alpha()), hanging], GatewaySettings())
    async with Client(gateway.server()) as client:
        await gateway.settled()
        down = await client.call_tool("hanging__anything", {})
        assert down.is_error and "did not answer within 0.2 s" in down.content[0].text
        with anyio.fail_after(10):
            await stopped.wait()


SCRIPT = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("scripted")
@server.tool()
def first() -> str:
    return "one"
{more}
server.run()
"""


async def test_a_tool_list_cached_from_the_last_start_answers_before_the_server_runs(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(SCRIPT.format(more=""))
    cache = ToolCache(tmp_path / "cache")

    def gateway() -> Gateway:  # a real process over stdio, started the same way each time
        target = StdioServerParameters(command=sys.executable, args=[str(script)])
        return Gateway([Downstream("s", target)], GatewaySettings(start="lazy"), cache=cache)

    first = gateway()
    async with Client(first.server()) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["s__first"], "no cache yet: started"
    script.write_text(SCRIPT.format(more="@server.tool()\ndef second() -> str:\n    return 'two'\n"))
    changed: list[str] = []

    async def on_message(message: Any) -> None:
        changed.append(str(getattr(getattr(message, "root", message), "method", "")))

    again = gateway()
    async with Client(again.server(), mode="legacy", message_handler=on_message) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["s__first"], "from the cache"
        assert again.downstreams["s"].health.state == "stopped", "answered without starting it"
        assert not (await client.call_tool("s__first", {})).is_error
        with anyio.fail_after(30):
            while "notifications/tools/list_changed" not in changed:
                await anyio.sleep(0.01)
        assert [t.name for t in (await client.list_tools()).tools] == ["s__first", "s__second"]
    assert [t.name for t in cache.load(again.downstreams["s"]) or []] == [
        "first",
        "second",
    ]


def test_the_cache_finds_a_server_started_the_same_way_whatever_its_labels(tmp_path: Path) -> None:
    cache = ToolCache(tmp_path)

    def started(*args: str) -> Downstream:
        return Downstream("a", StdioServerParameters(command="docker", args=["run", *args, "img:1"]))

    cache.save(
        started("--label", "io.mcpkit.gateway=1"), [types.Tool(name="t", input_schema={"type": "object"})]
    )
    assert cache.load(started("--label", "io.mcpkit.gateway=2")) is not None, "another gateway process"
    assert cache.load(started("--label=io.mcpkit.gateway=3")) is not None
    assert cache.load(started("--memory", "1g")) is None, "started another way"
