"""PostgreSQL through psycopg 3: the production target.

Writes are refused three times over: every statement goes through the extended protocol, which runs exactly one
statement (`SELECT 1; COMMIT; DROP ...` is a syntax error, not three statements); the session and each
transaction are READ ONLY; and every call ends in a rollback, so no state survives on the connection.

Every call is bounded whatever ran before it: statement and lock timeouts are session settings from the moment the
connection opens (a startup option, which no rolled-back transaction can undo), each call's own limit is set again as
the first statement of its transaction (which nothing ends before the query runs: the catalog loads inside it), and a
watchdog cancels the running statement on the connection when the call's deadline passes. Lineage comes from the engine: the verbose plan says where each
column is used, and each output column's table origin comes from the result's RowDescription.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, pq

from analyst.catalog import TableInfo
from analyst.engines import EngineError, Limits
from analyst.engines.postgres_describe import describe_tables
from analyst.engines.postgres_lineage import Catalog, analyse_plan, refuse_system_use
from analyst.engines.watchdog import Watchdog
from analyst.guard import CheckedQuery
from analyst.lineage import Column, Lineage
from analyst.pii import Policy

FETCH_BATCH = 200


@dataclass
class _Execution:
    columns: list[str]
    lineage: Lineage
    _cursor: psycopg.Cursor[Any] | psycopg.ServerCursor[Any]
    deadline: float
    timeout_seconds: float
    value_cap: int | None = None  # rows carry an extra last column: does one of its values exceed the cap?
    stopped: str | None = None  # why rows() ended early, for the result's note

    def rows(self) -> Iterator[tuple[Any, ...]]:
        # Nothing is fetched before the masker has seen the lineage: a refused query reads no rows at all.
        while True:
            if time.monotonic() > self.deadline:
                raise EngineError(f"the query ran longer than {self.timeout_seconds:g} s and was stopped")
            batch = self._cursor.fetchmany(FETCH_BATCH)
            if not batch:
                return
            for row in batch:
                if self.value_cap is None:
                    yield row
                    continue
                if row[-1]:  # the database kept it: a value this large is never sent, held or scanned here
                    self.stopped = (
                        f"stopped at a value larger than the result size cap of {self.value_cap} bytes; "
                        "select a shorter value (e.g. left(column, 1000)) or aggregate less"
                    )
                    return
                yield row[:-1]


class PostgresEngine:
    dialect = "postgresql"

    def __init__(self, url: str, timeout_seconds: float = Limits.timeout_seconds) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds  # the session's bound, for calls that bring none of their own
        self._connection: psycopg.Connection | None = None
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()
        self._cursor_ids = itertools.count()

    def _connect(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            bound = _milliseconds(self.timeout_seconds)
            try:
                self._connection = psycopg.connect(
                    self.url,
                    autocommit=False,
                    connect_timeout=max(2, math.ceil(self.timeout_seconds)),
                    application_name="mcpkit-analyst",
                    # a query whose client went away is stopped within a second instead of at its timeout
                    options="-c default_transaction_read_only=on -c client_connection_check_interval=1000 "
                    f"-c statement_timeout={bound} -c lock_timeout={bound}",
                )
            except psycopg.Error as exc:
                raise EngineError(f"cannot connect to the database: {_primary(exc)}") from None
            self._connection.read_only = True
            self._catalog = None
        return self._connection

    def _catalog_for(self, connection: psycopg.Connection) -> Catalog:
        # Loaded inside the calling transaction, under its timeouts: ending it here would drop the call's limit.
        if self._catalog is None:
            self._catalog = Catalog.load(connection)
        return self._catalog

    @contextmanager
    def _transaction(self, timeout_seconds: float | None = None) -> Iterator[psycopg.Connection]:
        """One call's transaction on the shared connection: serialised, read-only, bounded in time on the database
        and by a watchdog here, rolled back whatever happens, with psycopg's errors turned into EngineError (and a
        lost connection dropped, to reconnect next time)."""
        seconds = timeout_seconds or self.timeout_seconds
        limit = f"{seconds:g} s"
        if not self._lock.acquire(timeout=seconds):
            raise EngineError(f"another call held the database connection for more than {limit}; try again")
        try:
            connection = self._connect()
            try:
                with Watchdog(lambda: _cancel(connection), seconds):
                    connection.execute(
                        "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
                        (_milliseconds(seconds), _milliseconds(seconds)),
                        prepare=True,
                    )
                    yield connection
            except errors.QueryCanceled:
                raise EngineError(f"the query ran longer than {limit} and was stopped") from None
            except errors.LockNotAvailable:
                raise EngineError(
                    f"the query waited longer than {limit} for a lock and was stopped"
                ) from None
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._discard()
                raise EngineError(f"the database connection failed ({_primary(exc)}); try again") from None
            except psycopg.Error as exc:
                raise EngineError(_primary(exc)) from None
            finally:
                if self._connection is not None and not self._connection.closed:
                    self._connection.rollback()
        finally:
            self._lock.release()

    def schema_ddl(self, policy: Policy) -> str:
        with self._transaction() as connection:
            return _schema_ddl(connection, policy)

    def describe(self) -> list[TableInfo]:
        with self._transaction() as connection:
            return describe_tables(connection)

    def tables(self) -> dict[str, list[str]]:
        with self._transaction() as connection:
            return dict(self._catalog_for(connection).columns)

    @contextmanager
    def execute(self, query: CheckedQuery, limits: Limits) -> Iterator[_Execution]:
        deadline = time.monotonic() + limits.timeout_seconds
        with self._transaction(limits.timeout_seconds) as connection:
            execution = self._run(connection, query, limits, deadline)
            try:
                yield execution
            finally:
                execution._cursor.close()

    def _run(
        self, connection: psycopg.Connection, query: CheckedQuery, limits: Limits, deadline: float
    ) -> _Execution:
        if query.explain:  # a plan carries the query's text, no table data
            cursor = connection.cursor()
            try:
                cursor.execute(f"EXPLAIN {query.sql}" if query.plan_only else query.sql, prepare=True)
            except BaseException:
                cursor.close()
                raise
            names = [c.name for c in cursor.description or []]
            return _Execution(
                names, Lineage(Counter(), [None] * len(names)), cursor, deadline, limits.timeout_seconds
            )
        catalog = self._catalog_for(connection)
        with connection.cursor() as plan_cursor:
            plan_cursor.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {query.sql}", prepare=True)
            plan = _plan_of(plan_cursor.fetchone())
        refuse_system_use(plan)
        names, origins = _describe(connection, query.sql, catalog)
        cursor = connection.cursor(name=f"analyst_{next(self._cursor_ids)}")
        try:  # DECLARE ... CURSOR, over the extended protocol: one statement only
            cursor.execute(_capped(query.sql, len(names), limits.max_result_bytes))
        except BaseException:
            cursor.close()
            raise
        lineage = analyse_plan(plan, catalog, len(names), origins)
        value_cap = limits.max_result_bytes if names else None  # a query without columns is not wrapped
        return _Execution(names, lineage, cursor, deadline, limits.timeout_seconds, value_cap)

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    def close(self) -> None:
        with self._lock:
            self._discard()


def _cancel(connection: psycopg.Connection) -> None:
    # The call waits for a cancel in flight (so none reaches its next call): a server that cannot take one within
    # 2 s is unreachable, and the call fails on its own.
    with suppress(psycopg.Error):
        connection.cancel_safe(timeout=2)


def _milliseconds(seconds: float) -> str:
    return f"{max(1, int(seconds * 1000))}ms"


def _describe(
    connection: psycopg.Connection, sql: str, catalog: Catalog
) -> tuple[list[str], list[Column | None]]:
    """The query's output columns and the table column each is a plain copy of, from its RowDescription, without
    running it (libpq's prepare and describe)."""
    pgconn = connection.pgconn
    prepared = pgconn.prepare(b"", sql.encode())
    if prepared.status != pq.ExecStatus.COMMAND_OK:
        raise EngineError(
            (prepared.error_message or b"the query could not be prepared").decode(errors="replace").strip()
        )
    result = pgconn.describe_prepared(b"")
    names, origins = [], []
    for index in range(result.nfields):
        names.append((result.fname(index) or b"?").decode(errors="replace"))
        table = catalog.by_oid.get(result.ftable(index))
        column = table[1].get(result.ftablecol(index)) if table else None
        origins.append((table[0], column) if table and column else None)
    return names, origins


def _capped(sql: str, width: int, cap: int) -> str:
    """The query wrapped so that no value over `cap` bytes leaves the database: such a value becomes NULL, and a
    last column says the row had one. pg_column_size reads a value's size from its header, whatever its length."""
    if width == 0:
        return sql
    names = [f"c{i}" for i in range(width)]
    values = [f"CASE WHEN pg_column_size(_q.{n}) > {cap} THEN NULL ELSE _q.{n} END" for n in names]
    oversize = " OR ".join(f"coalesce(pg_column_size(_q.{n}) > {cap}, false)" for n in names)
    return f"SELECT {', '.join(values)}, ({oversize}) FROM ({sql}\n) AS _q({', '.join(names)})"


def _plan_of(row: Any) -> dict[str, Any]:
    """The plan tree, or an EngineError when the statement has none (utility statements do not)."""
    try:
        document = json.loads(row[0]) if isinstance(row[0], str) else row[0]
        return dict(document[0]["Plan"])
    except (TypeError, KeyError, IndexError, ValueError):
        raise EngineError("only queries can run here (the statement has no query plan)") from None


def _primary(exc: psycopg.Error) -> str:
    diag = getattr(exc, "diag", None)
    return (diag.message_primary if diag is not None and diag.message_primary else str(exc)).strip()


def _schema_ddl(connection: psycopg.Connection, policy: Policy) -> str:
    tables: dict[str, list[str]] = {}
    for schema, table, column, kind, not_null in connection.execute(
        """SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_toast%'
           ORDER BY n.nspname, c.relname, a.attnum""",
        prepare=True,
    ):
        name = table if schema == "public" else f"{schema}.{table}"
        pii = policy.column(name, column)
        comment = f" -- personal data ({pii.rule.action.value})" if pii else ""
        tables.setdefault(name, []).append(f"    {column} {kind}{' NOT NULL' if not_null else ''},{comment}")
    for schema, table, definition in connection.execute(
        """SELECT n.nspname, c.relname, pg_get_constraintdef(k.oid)
           FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE k.contype IN ('p', 'f', 'u') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           ORDER BY n.nspname, c.relname, k.contype DESC, k.conname""",
        prepare=True,
    ):
        name = table if schema == "public" else f"{schema}.{table}"
        if name in tables:
            tables[name].append(f"    {definition},")
    statements = []
    for name, lines in tables.items():
        last = lines[-1]
        lines[-1] = last.replace(",", "", 1) if " --" not in last else last.replace(", --", " --", 1)
        statements.append(f"CREATE TABLE {name} (\n" + "\n".join(lines) + "\n);")
    indexes = connection.execute(
        """SELECT indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
           ORDER BY tablename, indexname""",
        prepare=True,
    ).fetchall()
    statements += [f"{definition};" for (definition,) in indexes]
    return "\n\n".join(statements)
