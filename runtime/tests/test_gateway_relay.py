"""A tool call's answer relayed as the server gave it (mcpkit_runtime.gateway.relay): nothing of it lost, nothing of
it checked twice on the way, and the caller's own client still checking it against the tool's output schema."""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from mcpkit_runtime import __version__
from mcpkit_runtime.gateway.downstream import Downstream
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.relay import renamed_error
from mcpkit_runtime.gateway.settings import GatewaySettings

SCHEMA = {"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}


def _server(structured: dict[str, Any]) -> Server[Any]:
    """One tool declaring an output schema, answering with `structured`, a note in `_meta` and two contents."""

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        tool = types.Tool(name="count", input_schema={"type": "object"}, output_schema=SCHEMA)
        return types.ListToolsResult(tools=[tool])

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return types.CallToolResult(
            content=[
                types.TextContent(type="text", text="counted"),
                types.ImageContent(type="image", data="AAAA", mime_type="image/png"),
            ],
            structured_content=structured,
            _meta={"io.example/note": "kept"},
        )

    return Server("counter", on_list_tools=list_tools, on_call_tool=call_tool)


def _call(structured: dict[str, Any], mode: str) -> types.CallToolResult | RuntimeError:
    """The caller's answer, or what its client raised about it."""
    gateway = Gateway([Downstream("c", _server(structured))], GatewaySettings())

    async def call() -> types.CallToolResult | RuntimeError:
        async with Client(gateway.server(), mode=mode) as client:  # type: ignore[arg-type]
            try:
                return await client.call_tool("c__count", {})
            except RuntimeError as exc:
                return exc

    return anyio.run(call)


@pytest.mark.parametrize("mode", ["legacy", "auto"])  # the handshake era, and the stateless 2026-07-28
def test_an_answer_reaches_the_caller_whole(mode: str) -> None:
    result = _call({"count": 3}, mode)
    assert isinstance(result, types.CallToolResult) and not result.is_error
    assert result.structured_content == {"count": 3}
    assert [c.type for c in result.content] == ["text", "image"]
    assert (result.meta or {}).get("io.example/note") == "kept"
    stamp = (result.meta or {}).get(types.SERVER_INFO_META_KEY)
    if mode == "auto":
        assert stamp == {"name": "mcpkit-gateway", "version": __version__}, (
            "the gateway answered, not the server"
        )
    else:
        assert stamp is None, "the handshake era has no stamp, and the server's is not passed on"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_an_answer_off_its_output_schema_is_refused_by_the_callers_client(mode: str) -> None:
    refused = _call({"count": "three"}, mode)
    assert isinstance(refused, RuntimeError)
    assert str(refused).startswith("Invalid structured content returned by tool c__count")


def test_a_tool_error_is_renamed_in_its_text_contents_only() -> None:
    result: dict[str, Any] = {
        "isError": True,
        "content": [
            {"type": "text", "text": "Error executing tool add: bad a"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "text", "text": "see Error executing tool add"},
        ],
    }
    renamed = renamed_error(result, "add", "alpha__add")
    assert [c.get("text") for c in renamed["content"]] == [
        "Error executing tool alpha__add: bad a",
        None,
        "see Error executing tool add",
    ]
    assert result["content"][0]["text"] == "Error executing tool add: bad a", (
        "the server's answer is not changed"
    )


def _library() -> Server[Any]:
    """One prompt and one resource, each with a note in `_meta`."""

    async def get_prompt(
        ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        message = types.PromptMessage(role="user", content=types.TextContent(type="text", text="hello"))
        return types.GetPromptResult(messages=[message], _meta={"io.example/note": "kept"})

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        contents = [types.TextResourceContents(uri=str(params.uri), text="shelf")]
        return types.ReadResourceResult(contents=contents, _meta={"io.example/note": "kept"})

    return Server("library", on_get_prompt=get_prompt, on_read_resource=read_resource)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_prompt_and_a_resource_carry_the_gateways_stamp_not_the_servers(mode: str) -> None:
    gateway = Gateway([Downstream("l", _library())], GatewaySettings())

    async def fetch() -> tuple[types.GetPromptResult, types.ReadResourceResult]:
        async with Client(gateway.server(), mode=mode) as client:  # type: ignore[arg-type]
            return await client.get_prompt("l__greet"), await client.read_resource("l+note://shelf")

    prompt, resource = anyio.run(fetch)
    assert resource.contents[0].uri == "l+note://shelf" and prompt.messages[0].content.text == "hello"  # type: ignore[union-attr]
    for result in (prompt, resource):
        assert (result.meta or {}).get("io.example/note") == "kept"
        stamp = (result.meta or {}).get(types.SERVER_INFO_META_KEY)
        assert stamp == ({"name": "mcpkit-gateway", "version": __version__} if mode == "auto" else None)
