"""What the gateway answers with of its own: a tool error, a server's tool error named as the caller knows the
tool, and comparing tool lists."""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp import Client


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


def named_error(result: Any, inner: str, named: str) -> Any:
    """A server's tool error naming the tool as the caller knows it (the SDK's "Error executing tool NAME")."""
    said, says = f"Error executing tool {inner}", f"Error executing tool {named}"
    content = getattr(result, "content", None)
    if not content or not any(getattr(c, "text", "").startswith(said) for c in content):
        return result
    renamed = [
        c.model_copy(update={"text": says + c.text[len(said) :]})
        if getattr(c, "text", "").startswith(said)
        else c
        for c in content
    ]
    return result.model_copy(update={"content": renamed})


async def list_tools_page(client: Client, cursor: str | None) -> types.ListToolsResult:
    return await client.list_tools(cursor=cursor)


def same_tools(live: list[types.Tool], offered: list[types.Tool] | None) -> bool:
    def dump(tools: list[types.Tool]) -> list[Any]:
        return sorted((t.model_dump(mode="json", exclude_none=True) for t in tools), key=lambda t: t["name"])

    return offered is not None and dump(live) == dump(offered)
