"""Database engines behind one interface; chosen by the scheme of ANALYST_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from analyst.catalog import TableInfo
from analyst.guard import CheckedQuery
from analyst.lineage import Lineage
from analyst.pii import Policy


@dataclass(frozen=True)
class Limits:
    row_limit: int = 100
    timeout_seconds: float = 10.0  # the whole call: executing, fetching and masking
    max_result_bytes: int = 1_000_000  # of the whole result, and so of any one value in it


class EngineError(Exception):
    """The database refused or failed the statement. The message may quote data: scrub it before showing it."""


class ConfigurationError(ValueError):
    """The database cannot be opened as configured."""


class Execution(Protocol):
    columns: list[str]
    lineage: Lineage
    stopped: str | None  # why the rows ended before the query's end (a value over the cap), if they did

    def rows(self) -> Iterator[tuple[Any, ...]]: ...


class Engine(Protocol):
    dialect: str

    def schema_ddl(self, policy: Policy) -> str: ...

    def tables(self) -> dict[str, list[str]]: ...

    def describe(self) -> list[TableInfo]:
        """Every table and view with its columns, keys, indexes and estimated rows (personal data not yet marked)."""
        ...

    def execute(self, query: CheckedQuery, limits: Limits) -> AbstractContextManager[Execution]:
        """Runs the guard's checked query (its kind decided once, there); no value larger than the result cap is
        ever received, and the time limit holds from start to the last row."""
        ...

    def close(self) -> None: ...


def open_engine(url: str, timeout_seconds: float = Limits.timeout_seconds) -> Engine:
    """`timeout_seconds` bounds what the engine does outside a call's own limits (its schema reads, and on
    PostgreSQL the session's timeouts from the moment it connects)."""
    if url.startswith("sqlite:///"):
        from analyst.engines.sqlite import SqliteEngine

        return SqliteEngine.from_url(url)
    if url.startswith(("postgresql://", "postgres://")):
        from analyst.engines.postgres import PostgresEngine

        return PostgresEngine(url, timeout_seconds)
    scheme = url.split(":", 1)[0]
    raise ConfigurationError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )
