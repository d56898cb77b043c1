"""list_tables and describe_table on PostgreSQL: the user's tables and views from the catalog, read by the engine
itself (a read-only role sees keys here that information_schema hides from it)."""

from __future__ import annotations

import psycopg

from analyst.catalog import ColumnInfo, ForeignKey, IndexInfo, TableInfo

USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'"
KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}

_COLUMNS = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltuples, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {USER_SCHEMAS}
ORDER BY n.nspname, c.relname, a.attnum
"""
_KEYS = f"""
SELECT k.conrelid, k.contype, rn.nspname, r.relname,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(num, i)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.i),
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(num, i)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.i)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class r ON r.oid = k.confrelid LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE k.contype IN ('p', 'f') AND {USER_SCHEMAS}
ORDER BY k.conrelid, k.conname
"""
_INDEXES = f"""
SELECT i.indrelid, ic.relname, i.indisunique,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k + 1, true) FROM generate_subscripts(i.indkey, 1) AS k
             WHERE k < i.indnkeyatts ORDER BY k)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE {USER_SCHEMAS}
ORDER BY i.indrelid, ic.relname
"""


def describe_tables(connection: psycopg.Connection) -> list[TableInfo]:
    tables: dict[int, TableInfo] = {}
    for oid, schema, name, kind, estimate, column, kind_of, not_null in connection.execute(
        _COLUMNS, prepare=True
    ):
        if oid not in tables:
            tables[oid] = TableInfo(
                name=_name(schema, name),
                kind=KINDS.get(kind, kind),
                columns=[],
                primary_key=[],
                foreign_keys=[],
                indexes=[],
                estimated_rows=int(estimate) if kind in ("r", "p", "m") and estimate >= 0 else None,
            )
        tables[oid].columns.append(ColumnInfo(name=column, type=kind_of, nullable=not not_null))
    for oid, kind, schema, name, columns, referenced in connection.execute(_KEYS, prepare=True):
        table = tables.get(oid)
        if table is None:
            continue
        if kind == "p":
            table.primary_key = list(columns)
        else:
            table.foreign_keys.append(
                ForeignKey(
                    columns=list(columns),
                    references_table=_name(schema, name),
                    references_columns=list(referenced),
                )
            )
    for oid, name, unique, columns in connection.execute(_INDEXES, prepare=True):
        if oid in tables:
            tables[oid].indexes.append(IndexInfo(name=name, columns=list(columns), unique=unique))
    return list(tables.values())


def _name(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"
