"""The MCP surface: resource db://schema, tools run_sql and explain_sql."""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Callable
from typing import Annotated, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from analyst import __version__, catalog, pii
from analyst.catalog import TableInfo, TableList
from analyst.config import AnalystSettings
from analyst.engines import ConfigurationError, Engine, EngineError, open_engine
from analyst.guard import QueryRefused
from analyst.profile import profile_work
from analyst.runner import QueryResult, render_text, run_query
from mcpkit_runtime import logs, sdk
from mcpkit_runtime.config import RuntimeConfig
from mcpkit_runtime.jobs import JobLimitReached
from mcpkit_runtime.limits import Rate
from mcpkit_runtime.server import Runtime, audit_fields
from mcpkit_runtime.transport import serve

log = logging.getLogger("analyst")
T = TypeVar("T")

INSTRUCTIONS = (
    "Answer questions about a relational database. Find the tables and columns first (list_tables and "
    "describe_table, or the db://schema resource), then call run_sql with one read-only SELECT. Results are capped; aggregate in SQL rather than paging. Columns marked as "
    "personal data come back masked and cannot be filtered, joined, grouped or sorted on."
)
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
QueryArgument = Annotated[
    str,
    Field(description="One read-only SQL statement, e.g. SELECT city, count(*) FROM customers GROUP BY city"),
]


DEFAULTS = RuntimeConfig(
    rate_limits={"*": Rate.parse("120/min:30")}, costs={"profile_table": 10.0}, session_budget=1000
)


# Tools that answer from the database under the call's own time limit (the engine's watchdog and progress handler stop
# a long statement whatever thread runs it). While one runs on the loop nothing else does, so a request sent meanwhile
# waits for it; a client that hangs up is seen by the stdio transport's own watcher thread, which ends the process
# whatever the loop is doing. profile_table is not among them: it starts a job, which runs in threads of its own.
QUICK_TOOLS = ["run_sql", "explain_sql", "list_tables", "describe_table"]


def create_server(
    engine: Engine,
    settings: AnalystSettings,
    policy: pii.Policy,
    runtime_config: RuntimeConfig = DEFAULTS,
    *,
    one_client: bool = False,
) -> MCPServer:
    """With `one_client` (stdio), SQLite's quick tools run on the event loop: an in-process read takes less time than
    the hop to a worker thread and back. PostgreSQL's wait on the network, in a thread, as every other tool."""
    runtime = Runtime("analyst", __version__, runtime_config)
    mcp = runtime.create_server(instructions=INSTRUCTIONS)
    jobs = runtime.enable_jobs()

    @mcp.resource(
        "db://schema", name="schema", mime_type="text/x-sql", description="CREATE statements of every table."
    )
    def schema() -> str:
        return _safely("db://schema", lambda: engine.schema_ddl(policy))

    @mcp.tool(annotations=READ_ONLY)
    def run_sql(query: QueryArgument) -> Annotated[CallToolResult, QueryResult]:
        """Run one read-only SQL query. Returns columns and rows (at most the row limit; see `truncated`), with
        personal-data columns masked."""
        result = _safely("run_sql", lambda: run_query(engine, policy, query, settings.limits))
        audit_fields(rows=result.row_count, truncated=result.truncated, masked=result.masked_columns)
        return CallToolResult(
            content=[TextContent(type="text", text=render_text(result))],
            structured_content=result.model_dump(mode="json"),
        )

    @mcp.tool(annotations=READ_ONLY)
    def list_tables() -> TableList:
        """List the tables and views: columns, personal-data columns and an estimated row count for each. Call
        describe_table for one table's columns, types, keys and indexes."""
        return catalog.summarise(_described())

    @mcp.tool(annotations=READ_ONLY)
    def describe_table(
        name: Annotated[str, Field(description="A table or view name from list_tables, e.g. orders")],
    ) -> TableInfo:
        """One table or view: its columns and types, which are personal data (their values come back masked), its
        primary and foreign keys, its indexes and an estimated row count."""
        tables = _described()
        found = catalog.find(tables, name)
        if found is None:
            raise ToolError(f"no table or view {name!r}; there are: {', '.join(t.name for t in tables)}")
        return found

    def _described() -> list[TableInfo]:
        return catalog.mark_personal_data(_safely("describe", engine.describe), policy)

    @mcp.tool(annotations=READ_ONLY)
    def explain_sql(query: QueryArgument) -> str:
        """Show the database's plan for a query without running it (to check joins and index use)."""
        result = _safely(
            "explain_sql", lambda: run_query(engine, policy, query, settings.limits, explain=True)
        )
        return "\n".join(" | ".join(str(v) for v in row) for row in result.rows)

    @mcp.tool(annotations=READ_ONLY)
    def profile_table(
        table: Annotated[str, Field(description="A table name from db://schema, e.g. page_views")],
    ) -> JobStarted:
        """Start computing per-column statistics of a table (counts, nulls, distinct values, min, max, top values).
        Returns a job_id at once: follow it with job_wait or job_status, then job_result."""
        tables = _safely("profile_table", engine.tables)
        match = next((name for name in tables if name.lower() == table.strip().lower()), None)
        if match is None:
            raise ToolError(f"no table {table!r}; tables: {', '.join(sorted(tables))}")
        try:
            job = jobs.start(
                "profile_table", profile_work(engine, policy, match, tables[match], settings.limits)
            )
        except JobLimitReached as exc:
            raise ToolError(str(exc)) from None
        return JobStarted(job_id=job.id, state=job.state.value, next_step="call job_wait with this job_id")

    if one_client and engine.dialect == "sqlite":
        sdk.run_on_the_loop(mcp, QUICK_TOOLS)
    return mcp


class JobStarted(BaseModel):
    job_id: str
    state: str
    next_step: str


def _safely(operation: str, action: Callable[[], T]) -> T:
    """Refusals and database errors become messages the model can act on; anything else an id in the log."""
    try:
        return action()
    except QueryRefused as exc:
        raise ToolError(f"refused: {exc}") from None
    except EngineError as exc:
        raise ToolError(
            f"the database refused the query: {exc}. Check the table with describe_table (or db://schema) and send a "
            "corrected query."
        ) from None
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        log.exception("unexpected failure", extra={"fields": {"error_id": error_id, "operation": operation}})
        raise ToolError(
            f"internal error (id {error_id}); the server log has the details. Try again or simplify."
        ) from None


def main() -> None:
    logs.configure()
    try:
        settings = AnalystSettings.from_env()
        policy = pii.load_policy(settings.pii_policy_file, settings.pii_hash_key)
        engine = open_engine(settings.database_url, settings.statement_timeout_seconds)
    except (ValidationError, ConfigurationError, OSError, ValueError) as exc:
        log.error("cannot start: %s", pii.scrub(str(exc))[0])
        sys.exit(2)
    log.info("starting", extra={"fields": {"version": __version__, "dialect": engine.dialect}})
    try:
        one_client = os.environ.get("MCP_TRANSPORT", "stdio") == "stdio"
        serve(create_server(engine, settings, policy, DEFAULTS.with_environment(), one_client=one_client))
    finally:
        engine.close()
