"""The MCP surface: resource db://schema and tool run_sql."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, ValidationError

from analyst import __version__, logs
from analyst.config import AnalystSettings
from analyst.database import Database, DatabaseError, QueryResult, UnsupportedDatabaseURL, open_database

log = logging.getLogger("analyst")

INSTRUCTIONS = (
    "Answer questions about a relational database. Read db://schema first for the tables and columns, "
    "then call run_sql with one read-only SELECT. Results are capped; aggregate in SQL rather than paging."
)


def create_server(database: Database, settings: AnalystSettings) -> MCPServer:
    mcp = MCPServer("analyst", version=__version__, instructions=INSTRUCTIONS)

    @mcp.resource(
        "db://schema", name="schema", mime_type="text/x-sql", description="CREATE statements of every table."
    )
    def schema() -> str:
        return database.schema_ddl()

    @mcp.tool(
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        )
    )
    def run_sql(
        query: Annotated[
            str, Field(description="One read-only SQL statement, e.g. SELECT city, count(*) FROM ...")
        ],
    ) -> QueryResult:
        """Run one read-only SQL query and return its rows (at most the server's row limit; see `truncated`)."""
        try:
            result = database.query(query, settings.row_limit)
        except DatabaseError as exc:
            raise ToolError(
                f"the database refused the query: {exc}. Check db://schema and send a corrected query."
            ) from None
        log.info("run_sql", extra={"fields": {"rows": result.row_count, "truncated": result.truncated}})
        return result

    return mcp


def main() -> None:
    logs.configure()
    try:
        settings = AnalystSettings.from_env()
        database = open_database(settings.database_url)
    except (ValidationError, UnsupportedDatabaseURL) as exc:
        log.error("cannot start: %s", exc)
        sys.exit(2)
    log.info("starting", extra={"fields": {"version": __version__}})
    create_server(database, settings).run()
