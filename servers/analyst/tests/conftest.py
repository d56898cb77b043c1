"""The databases the analyst is tested against: the demo shop in SQLite, and (integration tier) the same shop in
a real PostgreSQL server, reached through the least-privilege role of the README."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from analyst.demo_data import create_demo_database
from analyst.engines import Engine, open_engine
from analyst.runner import to_cell


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_demo_database(tmp_path_factory.mktemp("shop") / "demo.db")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Target:
    dialect: str
    url: str
    engine: Engine
    raw_rows: Callable[[str, int], list[list[Any]]]  # the database's own answer, without any wall
    digest: Callable[[], str]  # changes when anything in the database does
    pii_values: set[str]
    admin_url: str | None = None  # PostgreSQL's owner, for what the tests do to the server behind the engine


PII_COLUMNS = ("email", "phone", "ssn", "birth_date", "street_address", "postal_code", "card_number")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.docker)])
def target(request: pytest.FixtureRequest, demo_db: Path) -> Iterator[Target]:
    built = (
        _sqlite_target(demo_db) if request.param == "sqlite" else _postgres_target(*_postgres_urls(request))
    )
    yield built
    built.engine.close()


def _postgres_urls(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The mcpkit repository's fixtures start a real PostgreSQL with the shop loaded; run from this folder alone,
    name one: ANALYST_TEST_POSTGRES_URL (the read-only role) and ANALYST_TEST_POSTGRES_ADMIN_URL (the owner)."""
    try:
        return request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_admin_url")
    except pytest.FixtureLookupError:
        url, admin = (
            os.environ.get("ANALYST_TEST_POSTGRES_URL"),
            os.environ.get("ANALYST_TEST_POSTGRES_ADMIN_URL"),
        )
        if not (url and admin):
            pytest.skip("no PostgreSQL: set ANALYST_TEST_POSTGRES_URL and ANALYST_TEST_POSTGRES_ADMIN_URL")
        return url, admin


def _sqlite_target(path: Path) -> Target:
    def raw_rows(sql: str, limit: int) -> list[list[Any]]:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            return [[to_cell(v) for v in row] for row in connection.execute(sql).fetchmany(limit)]
        finally:
            connection.close()

    pii = {str(v) for row in raw_rows(f"SELECT {', '.join(PII_COLUMNS)} FROM customers", 10**6) for v in row}
    return Target(
        "sqlite",
        f"sqlite:///{path}",
        open_engine(f"sqlite:///{path}"),
        raw_rows,
        lambda: hashlib.sha256(path.read_bytes()).hexdigest(),
        pii,
    )


def _postgres_target(url: str, admin_url: str) -> Target:
    import psycopg

    def raw_rows(sql: str, limit: int) -> list[list[Any]]:
        with psycopg.connect(admin_url) as connection:
            return [[to_cell(v) for v in row] for row in connection.execute(sql).fetchmany(limit)]

    def digest() -> str:
        with psycopg.connect(admin_url) as connection:
            parts = connection.execute(
                "SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY 1) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
            ).fetchone()
            roles = connection.execute(
                "SELECT string_agg(rolname || rolsuper::text, ',' ORDER BY 1) FROM pg_roles"
            ).fetchone()
            tables = [
                connection.execute(
                    f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {t} t"
                ).fetchone()
                for t in ("customers", "products", "orders", "order_items")
            ]
        return repr((parts, roles, tables))

    pii = {str(v) for row in raw_rows(f"SELECT {', '.join(PII_COLUMNS)} FROM customers", 10**6) for v in row}
    return Target("postgresql", url, open_engine(url), raw_rows, digest, pii, admin_url)
