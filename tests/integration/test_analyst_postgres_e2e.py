"""The analyst image against a real PostgreSQL server: both in containers on a private, internal Docker network,
the analyst started through its generated Claude Desktop entry with the database URL passed by name."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import docker
import psycopg
import pytest
from mcp import Client
from typer.testing import CliRunner

from kit.cli import app
from kit.containers.launch import stdio_params
from kit.image.builder import BuildResult
from kit.project.settings import Settings

READ_ONLY_URL = "postgresql://analyst_ro:ro-pw@shop-db:5432/shop"


@pytest.fixture
def database_network(
    docker_client: docker.DockerClient,
    postgres_container: Any,
    postgres_url: str,
    session_labels: dict[str, str],
) -> Iterator[str]:
    network = docker_client.networks.create(
        f"mcpkit-test-{uuid.uuid4().hex[:8]}", internal=True, labels=session_labels
    )
    network.connect(postgres_container.get_wrapped_container(), aliases=["shop-db"])
    try:
        yield network.name
    finally:
        network.disconnect(postgres_container.get_wrapped_container(), force=True)
        network.remove()


def _entry(database_network: str, tmp_path: Path, *env: str) -> dict[str, Any]:
    """The analyst's Claude Desktop entry as `kit config` writes it, on the database's network."""
    path = tmp_path / "claude_desktop_config.json"
    options = [item for value in env for item in ("--env", value)]
    result = CliRunner().invoke(
        app,
        ["config", "analyst", "--output", str(path), "--network", database_network,
         "--env", f"ANALYST_DATABASE_URL={READ_ONLY_URL}", *options],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return dict(json.loads(path.read_text())["mcpServers"]["analyst"])


def test_a_hostile_first_call_in_a_fresh_container_is_stopped_and_discovery_answered(
    analyst_image: BuildResult,
    kit_settings: Settings,
    database_network: str,
    postgres_admin_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every client launch is a new container: its first call must be bounded like any other (it used to run
    without a limit), and a model that finds the schema by querying must be answered."""
    monkeypatch.chdir(kit_settings.project_dir)
    monkeypatch.setenv("KIT_BASE_IMAGE", kit_settings.base_image)
    entry = _entry(database_network, tmp_path, "ANALYST_STATEMENT_TIMEOUT=2")
    params = stdio_params(entry["command"], entry["args"], entry["env"])

    async def session() -> dict[str, Any]:
        async with Client(params, mode="legacy") as client:
            started = time.monotonic()
            hang = await client.call_tool(
                "run_sql", {"query": "SELECT count(*) FROM generate_series(1, 1e12::bigint)"}
            )
            seen: dict[str, Any] = {"hang": hang, "hang_seconds": time.monotonic() - started}
            seen["next"] = await client.call_tool(
                "run_sql", {"query": "SELECT count(*) AS n FROM customers;"}
            )
            seen["tables"] = await client.call_tool(
                "run_sql",
                {"query": "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"},
            )
            seen["roles"] = await client.call_tool(
                "run_sql", {"query": "SELECT rolname, rolpassword FROM pg_authid"}
            )
            seen["list"] = await client.call_tool("list_tables", {})
            seen["describe"] = await client.call_tool("describe_table", {"name": "customers"})
            return seen

    seen = anyio.run(session)
    assert seen["hang"].is_error and "ran longer than 2 s" in seen["hang"].content[0].text
    # The message says the limit stopped it; the time only tells a stop from a hang (figures: make bench).
    assert seen["hang_seconds"] < 2 + 20, "the first call was not stopped at its limit"
    assert seen["next"].structured_content["rows"] == [[2000]]
    assert {row[0] for row in seen["tables"].structured_content["rows"]} >= {
        "customers",
        "orders",
        "products",
    }
    assert seen["roles"].is_error and "information_schema" in seen["roles"].content[0].text
    assert "customers" in {t["name"] for t in seen["list"].structured_content["tables"]}
    email = next(c for c in seen["describe"].structured_content["columns"] if c["name"] == "email")
    assert email["personal_data"] == "mask"
    with psycopg.connect(postgres_admin_url) as connection:
        running = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%generate_series(1, 1e12%' AND state = 'active'"
            " AND pid <> pg_backend_pid()"
        ).fetchone()
    assert running == (0,), "the stopped statement still runs on the server"


def test_analyst_container_reads_postgres_masks_pii_and_refuses_writes(
    analyst_image: BuildResult,
    kit_settings: Settings,
    database_network: str,
    postgres_admin_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(kit_settings.project_dir)
    monkeypatch.setenv("KIT_BASE_IMAGE", kit_settings.base_image)
    entry = _entry(database_network, tmp_path)
    assert "ro-pw" not in " ".join(entry["args"]), "the password travels in the env block, never in args"
    params = stdio_params(entry["command"], entry["args"], entry["env"])

    async def session() -> dict[str, Any]:
        async with Client(params, mode="legacy") as client:
            return {
                "count": await client.call_tool("run_sql", {"query": "SELECT count(*) AS n FROM customers"}),
                "emails": await client.call_tool(
                    "run_sql", {"query": "SELECT id, email FROM customers ORDER BY id LIMIT 3"}
                ),
                "attack": await client.call_tool(
                    "run_sql", {"query": "SELECT 1; COMMIT; DROP SCHEMA public CASCADE;"}
                ),
                "oracle": await client.call_tool(
                    "run_sql", {"query": "SELECT count(*) FROM customers WHERE ssn LIKE '1%'"}
                ),
                "schema": (await client.read_resource("db://schema")).contents[0].text,
            }

    seen = anyio.run(session)
    assert seen["count"].structured_content["rows"] == [[2000]]
    emails = seen["emails"].structured_content
    assert emails["masked_columns"] == ["email (customers.email: mask)"]
    assert all("***@" in row[1] for row in emails["rows"])
    assert seen["attack"].is_error and "only one statement per call" in seen["attack"].content[0].text
    assert seen["oracle"].is_error and "personal data" in seen["oracle"].content[0].text
    assert "email text NOT NULL, -- personal data (mask)" in seen["schema"]
    with psycopg.connect(postgres_admin_url) as connection:
        assert connection.execute("SELECT count(*) FROM customers").fetchone() == (2000,)
