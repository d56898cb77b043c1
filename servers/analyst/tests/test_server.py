"""The analyst in-process through the SDK's real client (no container, no subprocess)."""

import json
from pathlib import Path

import pytest
from mcp import Client

from analyst.config import AnalystSettings
from analyst.engines import open_engine
from analyst.pii import Policy
from analyst.server import QUICK_TOOLS, create_server

pytestmark = pytest.mark.anyio


def _client(demo_db: Path, row_limit: int = 100) -> Client:
    settings = AnalystSettings(database_url=f"sqlite:///{demo_db}", row_limit=row_limit)
    return Client(create_server(open_engine(settings.database_url), settings, Policy()), mode="legacy")


async def test_schema_resource_holds_the_create_statements(demo_db: Path) -> None:
    async with _client(demo_db) as client:
        result = await client.read_resource("db://schema")
    text = result.contents[0].text
    for table in ("customers", "products", "orders", "order_items"):
        assert f"CREATE TABLE {table}" in text
    assert "ssn TEXT" in text and "REFERENCES customers(id)" in text


async def test_run_sql_returns_real_rows(demo_db: Path) -> None:
    async with _client(demo_db) as client:
        result = await client.call_tool("run_sql", {"query": "SELECT count(*) AS n FROM customers"})
    assert not result.is_error
    assert result.structured_content["columns"] == ["n"] and result.structured_content["rows"] == [[2000]]
    assert (
        result.structured_content["truncated"] is False and result.structured_content["masked_columns"] == []
    )
    assert result.content[0].text.startswith("1 row")


async def test_rows_are_capped_at_fetch_time_and_truncation_reported(demo_db: Path) -> None:
    async with _client(demo_db, row_limit=7) as client:
        result = await client.call_tool("run_sql", {"query": "SELECT id FROM orders"})
    assert result.structured_content["row_count"] == 7 and result.structured_content["truncated"] is True


async def test_writes_are_refused_by_the_read_only_connection(demo_db: Path) -> None:
    async with _client(demo_db) as client:
        result = await client.call_tool("run_sql", {"query": "DELETE FROM customers"})
        count = await client.call_tool("run_sql", {"query": "SELECT count(*) FROM customers"})
    assert result.is_error and "received DELETE" in result.content[0].text
    assert count.structured_content["rows"] == [[2000]]


async def test_sql_errors_tell_the_model_how_to_retry(demo_db: Path) -> None:
    async with _client(demo_db) as client:
        result = await client.call_tool("run_sql", {"query": "SELECT nope FROM customers"})
    assert result.is_error
    assert "no such column: nope" in result.content[0].text and "db://schema" in result.content[0].text


async def test_server_reports_its_package_version(demo_db: Path) -> None:
    async with _client(demo_db) as client:
        assert client.server_info.name == "analyst"
        assert client.server_info.version == "0.1.0"


async def test_schema_marks_personal_data_columns(demo_db: Path) -> None:
    async with _client(demo_db) as client:
        text = (await client.read_resource("db://schema")).contents[0].text
    assert "-- personal data: email (mask), phone (mask), ssn (redact)" in text


async def test_masked_columns_are_reported_in_structure_and_text(demo_db: Path) -> None:
    async with _client(demo_db) as client:
        result = await client.call_tool(
            "run_sql", {"query": "SELECT id, email FROM customers ORDER BY id LIMIT 2"}
        )
    assert result.structured_content["masked_columns"] == ["email (customers.email: mask)"]
    assert "masked: email" in result.content[0].text and "@" in result.structured_content["rows"][0][1]
    assert "***@" in result.structured_content["rows"][0][1]


async def test_explain_sql_shows_the_plan_without_running(demo_db: Path) -> None:
    async with _client(demo_db) as client:
        result = await client.call_tool(
            "explain_sql", {"query": "SELECT * FROM orders WHERE customer_id = 3"}
        )
    assert not result.is_error and "orders_customer_id" in result.content[0].text


async def test_unexpected_failures_give_an_id_not_a_traceback(
    demo_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:  # a stand-in engine: no real one fails like this on demand
        dialect = "sqlite"

        def execute(self, sql: str, timeout: float):
            raise RuntimeError("secret internal detail")

    settings = AnalystSettings(database_url=f"sqlite:///{demo_db}")
    async with Client(create_server(Broken(), settings, Policy()), mode="legacy") as client:  # type: ignore[arg-type]
        result = await client.call_tool("run_sql", {"query": "SELECT 1"})
    text = result.content[0].text
    assert result.is_error and "internal error (id " in text and "secret" not in text
    error_id = text.split("(id ")[1].split(")")[0]
    assert any(getattr(r, "fields", {}).get("error_id") == error_id for r in caplog.records)


async def test_a_job_outlives_the_client_that_started_it(demo_db: Path) -> None:
    settings = AnalystSettings(database_url=f"sqlite:///{demo_db}")
    server = create_server(open_engine(settings.database_url), settings, Policy())
    async with Client(server, mode="legacy") as first:
        started = await first.call_tool("profile_table", {"table": "products"})
    job_id = started.structured_content["job_id"]
    async with Client(server, mode="legacy") as second:  # a reconnect: same container, new connection
        waited = await second.call_tool("job_wait", {"job_id": job_id, "timeout_seconds": 30})
        result = await second.call_tool("job_result", {"job_id": job_id})
    assert waited.structured_content["state"] == "succeeded"
    columns = {c["column"]: c for c in result.structured_content["result"]["columns"]}
    assert columns["category"]["distinct"] == 5 and result.structured_content["result"]["rows"] == 100


async def test_profiles_never_include_personal_data(demo_db: Path) -> None:
    async with _client(demo_db) as client:
        job_id = (await client.call_tool("profile_table", {"table": "customers"})).structured_content[
            "job_id"
        ]
        await client.call_tool("job_wait", {"job_id": job_id})
        result = await client.call_tool("job_result", {"job_id": job_id})
    columns = {c["column"]: c for c in result.structured_content["result"]["columns"]}
    assert columns["email"] == {"column": "email", "personal_data": "mask", "profiled": False}
    assert "@" not in json.dumps(result.structured_content)


async def test_list_tables_and_describe_table_give_the_schema_to_clients_without_resources(
    demo_db: Path,
) -> None:
    async with _client(demo_db) as client:
        listed = (await client.call_tool("list_tables", {})).structured_content
        orders = (await client.call_tool("describe_table", {"name": "Orders"})).structured_content
        customers = (await client.call_tool("describe_table", {"name": "customers"})).structured_content
        missing = await client.call_tool("describe_table", {"name": "nope"})
    by_name = {t["name"]: t for t in listed["tables"]}
    assert set(by_name) == {"customers", "products", "orders", "order_items", "page_views"}
    assert by_name["customers"]["personal_data_columns"] == [
        "email", "phone", "ssn", "birth_date", "street_address", "postal_code", "card_number"
    ]  # fmt: skip
    assert by_name["customers"]["estimated_rows"] == 2000
    assert orders["primary_key"] == ["id"]
    assert orders["foreign_keys"] == [
        {"columns": ["customer_id"], "references_table": "customers", "references_columns": ["id"]}
    ]
    assert {"name": "orders_customer_id", "columns": ["customer_id"], "unique": False} in orders["indexes"]
    columns = {c["name"]: c for c in customers["columns"]}
    assert columns["email"]["personal_data"] == "mask" and columns["city"]["personal_data"] is None
    assert columns["id"]["nullable"] is False and columns["phone"]["nullable"] is True
    assert missing.is_error and "there are: customers" in missing.content[0].text


async def test_served_to_one_client_sqlites_quick_tools_run_on_the_loop_under_the_same_walls(
    demo_db: Path,
) -> None:
    settings = AnalystSettings(database_url=f"sqlite:///{demo_db}", statement_timeout_seconds=1)
    server = create_server(open_engine(settings.database_url), settings, Policy(), one_client=True)
    assert "run_sql" in QUICK_TOOLS  # a hang-up meanwhile is seen by the stdio transport's watcher thread
    assert all(server._tool_manager.get_tool(name).is_async for name in QUICK_TOOLS)
    assert not server._tool_manager.get_tool("profile_table").is_async  # starts a job: stays in a thread
    hang = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    async with Client(server, mode="legacy") as client:
        stopped = await client.call_tool("run_sql", {"query": hang})
        masked = await client.call_tool("run_sql", {"query": "SELECT email FROM customers LIMIT 1"})
        written = await client.call_tool("run_sql", {"query": "DELETE FROM customers"})
    assert stopped.is_error and "longer than 1 s" in stopped.content[0].text
    assert masked.structured_content["rows"][0][0].count("***") == 1
    assert written.is_error and "refused" in written.content[0].text
