"""PostgreSQL through psycopg 3: the production target.

Writes are refused three times over: every statement goes through the extended protocol, which runs exactly one
statement (`SELECT 1; COMMIT; DROP ...` is a syntax error, not three statements); the session and each
transaction are READ ONLY; and every call ends in a rollback, so no state survives on the connection. A
server-side statement_timeout bounds each call. Lineage comes from the engine: the verbose plan says where each
column is used, and each output column's table origin comes from the result's RowDescription.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import errors

from analyst.engines import EngineError
from analyst.lineage import Column, Lineage
from analyst.pii import Policy

FETCH_BATCH = 200
# Plan keys that hold expressions: conditions, keys and sort orders. A personal-data column in any of them is used
# to filter, join, group or order.
CONDITION_KEYS = (
    "Filter", "Join Filter", "Hash Cond", "Merge Cond", "Index Cond", "Recheck Cond", "Sort Key", "Presorted Key",
    "Group Key", "Hash Key", "Cache Key", "One-Time Filter", "Run Condition", "TID Cond", "Order By",
)  # fmt: skip
SET_OPERATIONS = {"Append", "Merge Append", "SetOp", "HashSetOp", "Recursive Union"}
_CATALOG_SQL = """
SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
"""
_INDEX_SQL = """
SELECT ic.relname, n.nspname, t.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
"""


@dataclass
class Catalog:
    """User tables and views: names by OID for result origins, columns by name for plan references."""

    by_oid: dict[int, tuple[str, dict[int, str]]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    indexes: dict[str, tuple[str, str]] = field(default_factory=dict)  # index -> (table, definition)

    @classmethod
    def load(cls, connection: psycopg.Connection) -> Catalog:
        catalog = cls()
        for oid, schema, table, attnum, column in connection.execute(_CATALOG_SQL, prepare=True):
            name = table if schema == "public" else f"{schema}.{table}"
            catalog.by_oid.setdefault(oid, (name, {}))[1][attnum] = column
            catalog.columns.setdefault(name, []).append(column)
        for index, schema, table, definition in connection.execute(_INDEX_SQL, prepare=True):
            catalog.indexes[index] = (table if schema == "public" else f"{schema}.{table}", definition)
        return catalog


@dataclass
class _Execution:
    columns: list[str]
    lineage: Lineage
    _cursor: psycopg.Cursor[Any] | psycopg.ServerCursor[Any]

    def rows(self) -> Iterator[tuple[Any, ...]]:
        # Nothing is fetched before the masker has seen the lineage: a refused query reads no rows at all.
        while batch := self._cursor.fetchmany(FETCH_BATCH):
            yield from batch


class PostgresEngine:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: psycopg.Connection | None = None
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()
        self._cursor_ids = itertools.count()

    def _connect(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            try:
                self._connection = psycopg.connect(
                    self.url,
                    autocommit=False,
                    connect_timeout=10,
                    application_name="mcpkit-analyst",
                    options="-c default_transaction_read_only=on",
                )
            except psycopg.Error as exc:
                raise EngineError(f"cannot connect to the database: {_primary(exc)}") from None
            self._connection.read_only = True
            self._catalog = None
        return self._connection

    def _catalog_for(self, connection: psycopg.Connection) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog.load(connection)
            connection.rollback()
        return self._catalog

    @contextmanager
    def _transaction(self, timeout_seconds: float | None = None) -> Iterator[psycopg.Connection]:
        """One call's transaction on the shared connection: serialised, read-only, rolled back whatever happens,
        with psycopg's errors turned into EngineError (and a lost connection dropped, to reconnect next time)."""
        with self._lock:
            connection = self._connect()
            try:
                yield connection
            except errors.QueryCanceled:
                limit = f"{timeout_seconds:g} s" if timeout_seconds else "its time limit"
                raise EngineError(f"the query ran longer than {limit} and was stopped") from None
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._discard()
                raise EngineError(f"the database connection failed ({_primary(exc)}); try again") from None
            except psycopg.Error as exc:
                raise EngineError(_primary(exc)) from None
            finally:
                if self._connection is not None and not self._connection.closed:
                    self._connection.rollback()

    def schema_ddl(self, policy: Policy) -> str:
        with self._transaction() as connection:
            return _schema_ddl(connection, policy)

    def tables(self) -> dict[str, list[str]]:
        with self._transaction() as connection:
            return dict(self._catalog_for(connection).columns)

    @contextmanager
    def execute(self, sql: str, timeout_seconds: float) -> Iterator[_Execution]:
        with self._transaction(timeout_seconds) as connection:
            milliseconds = f"{int(timeout_seconds * 1000)}ms"
            connection.execute(
                "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
                (milliseconds, milliseconds),
                prepare=True,
            )
            execution = self._run(connection, sql)
            try:
                yield execution
            finally:
                execution._cursor.close()

    def _run(self, connection: psycopg.Connection, sql: str) -> _Execution:
        if re.match(r"\s*\(?\s*explain\b", sql, re.IGNORECASE):
            cursor = connection.cursor()
            try:
                cursor.execute(sql, prepare=True)
            except BaseException:
                cursor.close()
                raise
            names = [c.name for c in cursor.description or []]
            return _Execution(names, Lineage(Counter(), [None] * len(names)), cursor)
        catalog = self._catalog_for(connection)
        with connection.cursor() as plan_cursor:
            plan_cursor.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}", prepare=True)
            plan = _plan_of(plan_cursor.fetchone())
        cursor = connection.cursor(name=f"analyst_{next(self._cursor_ids)}")
        try:
            cursor.execute(sql)  # DECLARE ... CURSOR, over the extended protocol: one statement only
        except BaseException:
            cursor.close()
            raise
        result = cursor.pgresult
        assert result is not None
        origins: list[Column | None] = []
        for index in range(result.nfields):
            table = catalog.by_oid.get(result.ftable(index))
            column = table[1].get(result.ftablecol(index)) if table else None
            origins.append((table[0], column) if table and column else None)
        names = [c.name for c in cursor.description or []]
        lineage = analyse_plan(plan, catalog, len(names), origins)
        return _Execution(names, lineage, cursor)

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    def close(self) -> None:
        with self._lock:
            self._discard()


def analyse_plan(
    plan: dict[str, Any], catalog: Catalog, output_count: int, origins: list[Column | None]
) -> Lineage:
    """Every use of every column the plan touches, classified: plain flow to the output, inside an expression, or in
    a condition, key or ordering. Only PII columns matter to the masker, but all are reported alike."""
    scans = list(_scan_nodes(plan))
    columns_by_alias = {n["Alias"]: (_table_name(n), catalog.columns.get(_table_name(n), [])) for n in scans}
    reads: Counter[Column] = Counter()
    in_expressions: set[Column] = set()
    flows: set[Column] = set()

    def references(text: str, whole_rows: bool = True) -> set[Column]:
        found = set()
        for alias, (table, columns) in columns_by_alias.items():
            for column in columns:
                if re.search(rf'(?<![\w."]){_ident(alias)}\.{_ident(column)}(?![\w"])', text) or (
                    len(columns_by_alias) == 1 and re.search(rf'(?<![\w."]){_ident(column)}(?![\w"(])', text)
                ):
                    found.add((table, column))
            if whole_rows and re.search(rf'(?<![\w."]){_ident(alias)}\.\*', text):
                found.update((table, column) for column in columns)
        return found

    def visit(node: dict[str, Any], top: bool, under_set_or_subplan: bool) -> None:
        relationship = node.get("Parent Relationship", "")
        hidden = (
            under_set_or_subplan
            or relationship in ("InitPlan", "SubPlan")
            or node["Node Type"] in SET_OPERATIONS
        )
        for key in CONDITION_KEYS:
            value = node.get(key)
            for text in value if isinstance(value, list) else [value] if value else []:
                reads.update(references(text))
        index = catalog.indexes.get(node.get("Index Name", ""))
        if index:  # an index scan filters or orders by the indexed columns, even where the plan shows no key
            table, definition = index
            indexed = [
                c for c in catalog.columns.get(table, []) if re.search(rf"\b{re.escape(c)}\b", definition)
            ]
            reads.update((table, c) for c in indexed)
        outputs = node.get("Output", [])
        is_scan = "Relation Name" in node
        for position, text in enumerate(outputs):
            used = references(text)
            if not used:
                continue
            plain = _is_plain_reference(text)
            if not plain or hidden:
                in_expressions.update(used)
                reads.update(used)
            elif not is_scan or (top and position < output_count):
                flows.update(used)  # a scan's own outputs are its physical row, read or not
        for child in node.get("Plans", []):
            visit(child, False, hidden)

    visit(plan, True, False)
    reads.update(flows)
    return Lineage(reads=reads, origins=origins, in_expressions=in_expressions)


def _scan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Relation Name" in node:
        yield node
    for child in node.get("Plans", []):
        yield from _scan_nodes(child)


def _table_name(node: dict[str, Any]) -> str:
    schema = node.get("Schema", "public")
    return node["Relation Name"] if schema == "public" else f"{schema}.{node['Relation Name']}"


def _ident(name: str) -> str:
    return rf'(?:{re.escape(name)}|"{re.escape(name)}")'


def _is_plain_reference(text: str) -> bool:
    return re.fullmatch(r'\(*(?:"?[\w$]+"?\.)?"?[\w$]+"?\)*', text.strip()) is not None


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
