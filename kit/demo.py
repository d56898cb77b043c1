"""`kit demo`: base image, analyst image, a Claude Desktop config in a local file, then a scripted MCP session
started by exactly the command line that config holds."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from kit.clients import claude_desktop
from kit.clients.common import apply_change
from kit.containers.launch import launch_entries, stdio_params
from kit.errors import KitError
from kit.image.base_image import ensure_base_image, is_kit_base
from kit.image.builder import build_servers, raise_for_failures
from kit.project.servers import discover, select
from kit.project.settings import Settings
from kit.reporting import Reporter

DEMO_SERVER = "analyst"
DEMO_QUERY = (
    "SELECT p.category, count(DISTINCT o.id) AS orders, round(sum(i.quantity * i.unit_price), 2) AS revenue "
    "FROM orders o JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id "
    "WHERE o.status <> 'cancelled' GROUP BY p.category ORDER BY revenue DESC"
)


@dataclass(frozen=True)
class SessionTranscript:
    config_path: Path
    command: list[str]
    protocol_version: str
    server: str
    tools: list[str]
    schema: str
    query: str
    columns: list[str]
    rows: list[list[Any]]
    seconds: float


def run_demo(settings: Settings, reporter: Reporter, output_dir: Path) -> SessionTranscript:
    if is_kit_base(settings):
        ensure_base_image(settings, reporter)
    server = select(discover(settings), [DEMO_SERVER])
    raise_for_failures(build_servers(settings, server, reporter))
    config_path = output_dir / "claude_desktop_config.json"
    apply_change(claude_desktop.CLIENT, config_path, launch_entries(settings, server), dry_run=False)
    reporter.step(f"wrote {config_path}; starting the analyst through its entry")
    entry = json.loads(config_path.read_text(encoding="utf-8"))["mcpServers"][DEMO_SERVER]
    return anyio.run(_session, config_path, entry)


async def _session(config_path: Path, entry: dict[str, Any]) -> SessionTranscript:
    started = time.perf_counter()
    params = stdio_params(entry["command"], entry["args"], entry.get("env"))
    async with Client(params, mode="legacy") as client:
        tools = await client.list_tools()
        schema = await client.read_resource("db://schema")
        result = await client.call_tool("run_sql", {"query": DEMO_QUERY})
        info = client.server_info
        protocol = client.protocol_version
    if result.is_error or not result.structured_content:
        raise KitError(f"run_sql failed in the demo: {result.content}")
    return SessionTranscript(
        config_path=config_path,
        command=[entry["command"], *entry["args"]],
        protocol_version=protocol,
        server=f"{info.name} {info.version}" if info else "",
        tools=[tool.name for tool in tools.tools],
        schema=getattr(schema.contents[0], "text", ""),
        query=DEMO_QUERY,
        columns=result.structured_content["columns"],
        rows=result.structured_content["rows"],
        seconds=time.perf_counter() - started,
    )
