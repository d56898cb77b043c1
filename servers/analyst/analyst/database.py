"""Database access behind one small interface: the schema as DDL, and a read-only query with a row cap."""

from __future__ import annotations

import base64
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

Cell = str | int | float | bool | None


class QueryResult(BaseModel):
    columns: list[str] = Field(description="Column names, in order.")
    rows: list[list[Cell]] = Field(description="At most the row limit of rows.")
    row_count: int = Field(description="Rows returned.")
    truncated: bool = Field(description="True when the query had more rows than the limit.")


class DatabaseError(Exception):
    """A failure the model can fix by changing its query; the message is safe to show."""


class Database(Protocol):
    def schema_ddl(self) -> str: ...

    def query(self, sql: str, max_rows: int) -> QueryResult: ...


class UnsupportedDatabaseURL(ValueError):
    pass


def open_database(url: str) -> Database:
    if url.startswith("sqlite:///"):
        return SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    scheme = url.split(":", 1)[0]
    raise UnsupportedDatabaseURL(f"unsupported database URL scheme {scheme!r}; use sqlite:///PATH")


@dataclass
class SqliteDatabase:
    path: Path

    def __post_init__(self) -> None:
        if not self.path.is_file():
            raise UnsupportedDatabaseURL(f"no SQLite database at {self.path}")

    def _connect(self) -> sqlite3.Connection:
        # mode=ro: the file is opened read-only, so the engine refuses writes whatever the SQL says.
        connection = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        connection.execute("PRAGMA query_only = ON")
        return connection

    def schema_ddl(self) -> str:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
                "ORDER BY type = 'index', name"
            ).fetchall()
        return "\n\n".join(f"{sql.strip()};" for (sql,) in rows)

    def query(self, sql: str, max_rows: int) -> QueryResult:
        connection = self._connect()
        try:
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            fetched = cursor.fetchmany(max_rows + 1)
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from None
        finally:
            connection.close()
        rows = [[to_cell(v) for v in row] for row in fetched[:max_rows]]
        return QueryResult(columns=columns, rows=rows, row_count=len(rows), truncated=len(fetched) > max_rows)


def to_cell(value: Any) -> Cell:
    """A database value as JSON can carry it."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + base64.b64encode(bytes(value)).decode()
    return str(value)
