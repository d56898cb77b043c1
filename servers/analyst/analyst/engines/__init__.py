"""Database engines behind one interface; chosen by the scheme of ANALYST_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from analyst.lineage import Lineage
from analyst.pii import Policy


class EngineError(Exception):
    """The database refused or failed the statement. The message may quote data: scrub it before showing it."""


class ConfigurationError(ValueError):
    """The database cannot be opened as configured."""


class Execution(Protocol):
    columns: list[str]
    lineage: Lineage

    def rows(self) -> Iterator[tuple[Any, ...]]: ...


class Engine(Protocol):
    dialect: str

    def schema_ddl(self, policy: Policy) -> str: ...

    def tables(self) -> dict[str, list[str]]: ...

    def execute(self, sql: str, timeout_seconds: float) -> AbstractContextManager[Execution]: ...

    def close(self) -> None: ...


def open_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        from analyst.engines.sqlite import SqliteEngine

        return SqliteEngine.from_url(url)
    if url.startswith(("postgresql://", "postgres://")):
        from analyst.engines.postgres import PostgresEngine

        return PostgresEngine(url)
    scheme = url.split(":", 1)[0]
    raise ConfigurationError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )
