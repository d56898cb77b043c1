"""Lists asked of several servers at once (tools, prompts, resources, resource templates): every page of each, a
recorded answer for a server not running yet, and nothing from a server that does not answer (its health says
why), so one slow or broken server never holds up the others' lists."""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from typing import Any

import anyio
from mcp import Client, MCPError

from mcpkit_runtime.gateway.downstream import Downstream, DownstreamDown

Fetch = Callable[[Client, str | None], Awaitable[Any]]  # one page of a list, from the page's cursor
Recorded = Callable[[Downstream], list[Any] | None]


async def lists(
    downstreams: Iterable[Downstream],
    fetch: Fetch,
    field: str,
    recorded: Recorded,
    group: anyio.abc.TaskGroup,
) -> dict[str, list[Any]]:
    """Per server that answered, the items of `field` in every page of its list; a server not running yet gives
    its `recorded` list when it has one (and is not started for it). `group` is where servers are started."""
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
        answer = None if downstream.ready else recorded(downstream)
        if answer is not None:
            results[downstream.name] = answer
            return
        with suppress(DownstreamDown, MCPError):
            results[downstream.name] = await downstream.call(group, every_page)

    async with anyio.create_task_group() as asking:
        for downstream in downstreams:
            asking.start_soon(one, downstream)
    return results
