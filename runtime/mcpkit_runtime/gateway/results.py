"""What the gateway answers with of its own (a tool error), and comparing tool lists."""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
from typing import Any

import mcp_types as types
from mcp import Client


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


async def list_tools_page(client: Client, cursor: str | None) -> types.ListToolsResult:
    return await client.list_tools(cursor=cursor)


def same_tools(live: list[types.Tool], offered: list[types.Tool] | None) -> bool:
    def dump(tools: list[types.Tool]) -> list[Any]:
        return sorted((t.model_dump(mode="json", exclude_none=True) for t in tools), key=lambda t: t["name"])

    return offered is not None and dump(live) == dump(offered)
