"""The runtime wired into a real MCPServer, driven by the SDK's in-memory client."""

from __future__ import annotations

import io
import json
from typing import Literal

import pytest
from mcp import Client

from mcpkit_runtime.audit import AuditLog
from mcpkit_runtime.config import RuntimeConfig
from mcpkit_runtime.limits import Rate
from mcpkit_runtime.server import Runtime

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _server(config: RuntimeConfig, clock: Clock, stream: io.StringIO):
    runtime = Runtime(
        "weather", "1.0.0", config, synonyms={"get_weather": {"unit": {"celsius": "C"}}}, clock=clock,
        audit=AuditLog("weather", "1.0.0", stream=stream),
    )  # fmt: skip
    mcp = runtime.create_server()

    @mcp.tool()
    def get_weather(city: str, unit: Literal["C", "F"] = "C", days: int = 1, api_token: str = "") -> str:
        return f"{city}:{unit}:{days}"

    @mcp.resource("weather://stations")
    def stations() -> str:
        return "OSL,CDG"

    return mcp


def _audit(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_lenient_arguments_reach_the_tool_and_every_call_is_audited() -> None:
    stream = io.StringIO()
    async with Client(_server(RuntimeConfig(), Clock(), stream), mode="legacy") as client:
        result = await client.call_tool(
            "get_weather", {"city": "Oslo", "unit": "Celsius", "days": "3", "api_token": "t0k"}
        )
        await client.read_resource("weather://stations")
    assert result.content[0].text == "Oslo:C:3"
    call, read = _audit(stream)
    assert (
        call["event"] == "tool_call"
        and call["outcome"] == "ok"
        and call["arguments"]["api_token"] == "[REDACTED]"
    )
    assert call["duration_ms"] >= 0 and call["result_bytes"] > 0 and call["server"] == "weather"
    assert (
        read["event"] == "resource_read" and read["uri"] == "weather://stations" and read["outcome"] == "ok"
    )


async def test_refusals_are_tool_errors_with_the_time_to_wait_and_are_audited() -> None:
    stream, clock = io.StringIO(), Clock()
    config = RuntimeConfig(rate_limits={"get_weather": Rate.parse("1/min:2")})
    async with Client(_server(config, clock, stream), mode="legacy") as client:
        outcomes = [(await client.call_tool("get_weather", {"city": "x"})).is_error for _ in range(3)]
        clock.now = 30.0
        refused = await client.call_tool("get_weather", {"city": "x"})
        clock.now = 60.0
        allowed = await client.call_tool("get_weather", {"city": "x"})
    assert outcomes == [False, False, True]
    assert "Try again in 30.0 s" in refused.content[0].text and not allowed.is_error
    assert [a["outcome"] for a in _audit(stream)] == [
        "ok",
        "ok",
        "refused_rate_limit",
        "refused_rate_limit",
        "ok",
    ]


async def test_invalid_arguments_cost_nothing_and_teach_the_retry() -> None:
    stream = io.StringIO()
    config = RuntimeConfig(rate_limits={"get_weather": Rate.parse("1/hour:1")}, session_budget=1)
    async with Client(_server(config, Clock(), stream), mode="legacy") as client:
        bad = await client.call_tool("get_weather", {"city": "x", "unit": "kelvin"})
        good = await client.call_tool("get_weather", {"city": "x"})
        over = await client.call_tool("get_weather", {"city": "y"})
    assert bad.is_error and "'unit' must be one of 'C', 'F' (got 'kelvin')" in bad.content[0].text
    assert not good.is_error, "the invalid call took no token and spent no budget"
    assert over.is_error and "budget of 1 calls is used up" in over.content[0].text


async def test_a_tool_adds_what_came_of_the_call_to_its_one_audit_line() -> None:
    """Even from the worker thread a plain function runs in; the runtime's own facts cannot be overwritten."""
    from mcpkit_runtime.server import audit_fields

    stream = io.StringIO()
    mcp = _server(RuntimeConfig(), Clock(), stream)

    @mcp.tool()
    def count(text: str) -> int:
        audit_fields(words=len(text.split()), outcome="forged")
        return len(text)

    async with Client(mcp, mode="legacy") as client:
        await client.call_tool("count", {"text": "a b c"})
    (call,) = _audit(stream)
    assert call["words"] == 3 and call["outcome"] == "ok" and call["tool"] == "count"


def test_a_server_whose_logging_is_configured_starts_without_importing_rich() -> None:
    """rich's handler would be dropped anyway; importing it is a tenth of a second of every start."""
    import subprocess
    import sys

    code = (
        "import sys; from mcpkit_runtime import logs; logs.configure(); "
        "from mcpkit_runtime.server import Runtime; Runtime('probe', '1.0').create_server(); "
        "import logging; print('rich.console' in sys.modules, type(logging.getLogger().handlers[0]).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "StreamHandler"]
