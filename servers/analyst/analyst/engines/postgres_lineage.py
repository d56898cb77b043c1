"""PostgreSQL lineage, from the engine itself: the verbose plan says where each column is used (plain flow to the
output, inside an expression, or in a condition, key or ordering), and what runs at all (no system catalog, no
server-facts function, whatever the query's text looked like). The SQLite engine gets the same from its authorizer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from analyst.guard import DISCOVERY_HINT, SYSTEM_SCHEMAS, QueryRefused, is_server_fact_function
from analyst.lineage import Column, Lineage

# Plan keys that hold expressions: conditions, keys and sort orders. A personal-data column in any of them is used
# to filter, join, group or order.
CONDITION_KEYS = (
    "Filter", "Join Filter", "Hash Cond", "Merge Cond", "Index Cond", "Recheck Cond", "Sort Key", "Presorted Key",
    "Group Key", "Hash Key", "Cache Key", "One-Time Filter", "Run Condition", "TID Cond", "Order By",
)  # fmt: skip
# What the discovery views (information_schema's tables, columns, views, keys; pg_tables, pg_views, pg_indexes)
# expand to: the catalog tables they scan and the functions they call. Only the guard sees which view a query named;
# here, whatever the text looked like, nothing else of the catalog runs: not pg_authid, pg_statistic, the settings,
# the statistics views or the role functions behind an owner column.
CATALOG_TABLES = frozenset(
    "pg_class pg_namespace pg_type pg_attribute pg_attrdef pg_collation pg_depend pg_sequence pg_trigger "
    "pg_constraint pg_index pg_tablespace".split()
)
CATALOG_FUNCTIONS = frozenset(
    "pg_has_role pg_is_other_temp_schema pg_my_temp_schema pg_relation_is_updatable pg_column_is_updatable "
    "pg_get_expr pg_get_viewdef pg_get_indexdef".split()
)
ROLE_FUNCTIONS = frozenset({"pg_get_userbyid"})
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
    indexes: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # index -> (table, its columns)

    @classmethod
    def load(cls, connection: psycopg.Connection) -> Catalog:
        catalog = cls()
        for oid, schema, table, attnum, column in connection.execute(_CATALOG_SQL, prepare=True):
            name = table if schema == "public" else f"{schema}.{table}"
            catalog.by_oid.setdefault(oid, (name, {}))[1][attnum] = column
            catalog.columns.setdefault(name, []).append(column)
        for index, schema, table, definition in connection.execute(_INDEX_SQL, prepare=True):
            name = table if schema == "public" else f"{schema}.{table}"
            # Columns named anywhere in its definition: keys, expressions, INCLUDE and a partial index's WHERE.
            indexed = [
                c for c in catalog.columns.get(name, []) if re.search(rf"\b{re.escape(c)}\b", definition)
            ]
            catalog.indexes[index] = (name, indexed)
        return catalog


def refuse_system_use(plan: dict[str, Any]) -> None:
    """The engine's own word on what runs: a system catalog scanned, or a server-facts function called, beyond what
    the discovery views need, is refused whatever the query's text looked like to the guard."""
    for node in _nodes(plan):
        schema = (
            node.get("Schema", "") if "Relation Name" in node else ""
        )  # a function scan names its function's
        function = str(node.get("Function Name", "")).lower()
        texts = " ".join(str(v) for k, v in node.items() if k not in ("Plans",) and isinstance(v, str | list))
        called = {m.lower() for m in _CALL.findall(texts)} | {function}
        roles = sorted(called & ROLE_FUNCTIONS)
        if roles:
            raise QueryRefused(
                "the owner columns (tableowner of pg_tables, viewowner of pg_views) name database roles, which are "
                "not available to this analyst; select the other columns, e.g. SELECT schemaname, tablename FROM "
                "pg_tables WHERE schemaname = 'public'."
            )
        system = sorted(f for f in called if f and is_server_fact_function(f) and f not in CATALOG_FUNCTIONS)
        relation = node.get("Relation Name", "")
        scanned = schema in SYSTEM_SCHEMAS and not (schema == "pg_catalog" and relation in CATALOG_TABLES)
        if scanned or system:
            what = f"{schema}.{relation}" if scanned else f"{system[0]}()"
            raise QueryRefused(
                f"{what} is part of the database server's own catalog or settings, which are not available to this "
                f"analyst. {DISCOVERY_HINT}"
            )


_CALL = re.compile(r"\b([A-Za-z_]\w*)\(")


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def analyse_plan(
    plan: dict[str, Any], catalog: Catalog, output_count: int, origins: list[Column | None]
) -> Lineage:
    """Every use of every column the plan touches, classified: plain flow to the output, inside an expression, or in
    a condition, key or ordering. Only PII columns matter to the masker, but all are reported alike."""
    scans = [n for n in _nodes(plan) if "Relation Name" in n]
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
            table, indexed = index
            reads.update((table, c) for c in indexed)
        outputs = node.get("Output", [])
        is_scan = "Relation Name" in node
        # The planner may have a scan emit its whole physical row for a parent to project from: every column of
        # the table, used or not. Only the parent's expressions and conditions say what is used; a scan whose
        # output is itself a subquery's result (or the statement's) is another matter.
        whole_row = (
            is_scan and not top and relationship not in ("InitPlan", "SubPlan", "Member")
            and _is_physical_row(outputs, catalog.columns.get(_table_name(node), []))
        )  # fmt: skip
        for position, text in enumerate(outputs):
            used = references(text)
            if not used or whole_row:
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


def _table_name(node: dict[str, Any]) -> str:
    schema = node.get("Schema", "public")
    return node["Relation Name"] if schema == "public" else f"{schema}.{node['Relation Name']}"


def _ident(name: str) -> str:
    return rf'(?:{re.escape(name)}|"{re.escape(name)}")'


def _is_physical_row(outputs: list[str], columns: list[str]) -> bool:
    if len(outputs) != len(columns) or not all(_is_plain_reference(text) for text in outputs):
        return False
    named = [text.strip("()").rsplit(".", 1)[-1].strip('"') for text in outputs]
    return named == columns


def _is_plain_reference(text: str) -> bool:
    return re.fullmatch(r'\(*(?:"?[\w$]+"?\.)?"?[\w$]+"?\)*', text.strip()) is not None
