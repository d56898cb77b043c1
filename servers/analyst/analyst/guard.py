"""Wall 1, the text: exactly one statement, of a read kind, with nothing in it that writes, locks, reaches files or
the network, or changes session state.

It runs sqlparse's lexer only: grouping costs ~15 ms on a 2 KB query, the lexer a fraction of that, and a flat token
stream is all these checks need. The engine walls behind it hold on their own when this one is fooled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, NamedTuple

from sqlparse import lexer
from sqlparse import tokens as T

READ_STARTS = ("SELECT", "WITH", "VALUES", "EXPLAIN")
_HOW_TO = (
    "Send one read-only statement: SELECT ..., WITH ... SELECT ..., VALUES (...), or EXPLAIN of one of those."
)

# Functions that write, signal, sleep, reach files or other servers, run SQL given as text (hiding what it
# reads), or change settings. Matched on the unqualified, case-folded name.
DENIED_FUNCTIONS = frozenset(
    """
    pg_read_file pg_read_binary_file pg_ls_dir pg_stat_file pg_ls_logdir pg_ls_waldir pg_ls_tmpdir pg_ls_archive_statusdir
    pg_terminate_backend pg_cancel_backend pg_reload_conf pg_rotate_logfile pg_switch_wal pg_create_restore_point
    pg_promote pg_sleep pg_sleep_for pg_sleep_until pg_notify set_config nextval setval
    pg_advisory_lock pg_advisory_lock_shared pg_advisory_xact_lock pg_advisory_xact_lock_shared pg_try_advisory_lock
    pg_try_advisory_lock_shared pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared
    query_to_xml query_to_xmlschema query_to_xml_and_xmlschema table_to_xml table_to_xmlschema table_to_xml_and_xmlschema
    cursor_to_xml cursor_to_xmlschema schema_to_xml schema_to_xmlschema schema_to_xml_and_xmlschema database_to_xml
    database_to_xmlschema database_to_xml_and_xmlschema xpath_table ts_stat
    dblink dblink_exec dblink_connect dblink_connect_u dblink_send_query dblink_open dblink_fetch
    load_extension readfile writefile edit fts3_tokenizer zeroblob randomblob sqlite_drop_column
    """.split()
)
# Facts about the server itself (settings, paths, addresses, versions, roles, other sessions) that a read-only
# analyst does not need: refused as firmly as file access. System catalogs go the same way, except the views that
# describe the user's own tables (DISCOVERY). Names are matched on the unqualified, case-folded name; `pg_` covers
# PostgreSQL's catalogs and its administration functions, `sqlite_` and `pragma_` SQLite's.
SERVER_FACT_FUNCTIONS = frozenset(
    "current_setting version inet_server_addr inet_server_port inet_client_addr inet_client_port".split()
)
SYSTEM_PREFIXES = ("pg_", "sqlite_", "pragma_")
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast"})
ALLOWED_SYSTEM_NAMES = frozenset({"pg_typeof"})  # answers about the query's own values only
# Schema discovery as models do it: the views and table functions that describe tables, columns, views, keys and
# indexes, and nothing about the server (the engines check what they expand to).
DISCOVERY = {
    "information_schema": frozenset(
        "tables columns views table_constraints key_column_usage referential_constraints constraint_column_usage".split()
    ),
    "pg_catalog": frozenset({"pg_tables", "pg_views", "pg_indexes"}),
    "sqlite": frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"}),
    "pragma": frozenset(
        "pragma_table_info pragma_table_xinfo pragma_index_list pragma_index_info pragma_index_xinfo "
        "pragma_foreign_key_list".split()
    ),
}
DISCOVERY_NAMES = DISCOVERY["pg_catalog"] | DISCOVERY["sqlite"] | DISCOVERY["pragma"]
DENIED_FUNCTION_PREFIXES = (
    "lo_",
    "pg_replication_",
    "pg_logical_",
    "pg_create_",
    "pg_drop_",
    "pg_import_",
)

_SKIPPED = (T.Whitespace, T.Newline, T.Comment)
_LOCKING = (
    "row-locking clauses (FOR UPDATE, FOR SHARE, FOR NO KEY UPDATE, FOR KEY SHARE) are not allowed on a "
    "read-only connection; remove the FOR ... clause."
)


class QueryRefused(Exception):
    """The statement is not allowed; the message says why and how to rephrase."""


@dataclass(frozen=True)
class CheckedQuery:
    """The guard's verdict, decided once and handed to the engine: what runs, and whether it is a plan."""

    sql: str
    kind: str  # SELECT, WITH, VALUES or EXPLAIN
    ordinal_sort_refs: tuple[int, ...]  # 1-based result positions named in ORDER BY / GROUP BY
    sort_names: frozenset[str] = frozenset()  # names used in ORDER BY / GROUP BY (output aliases among them)
    plan_only: bool = False  # its plan is wanted, not its rows (explain_sql)

    @property
    def explain(self) -> bool:
        """The result is a plan: it carries the query's text, no table data."""
        return self.plan_only or self.kind == "EXPLAIN"


def check(sql: str, *, explain: bool = False) -> CheckedQuery:
    """The query if it may run; QueryRefused with an actionable message otherwise. With `explain`, the query whose
    plan is wanted (it must itself be a read, not an EXPLAIN)."""
    checked = _check(sql.strip())
    if explain:
        if checked.kind == "EXPLAIN":
            raise QueryRefused("send the query itself: explain_sql adds the EXPLAIN")
        return replace(checked, plan_only=True)
    return checked


@lru_cache(maxsize=512)
def _check(sql: str) -> CheckedQuery:
    statements = _split(_significant(sql))
    if not statements:
        raise QueryRefused(f"the query is empty. {_HOW_TO}")
    if len(statements) > 1:
        kinds = ", ".join(_first_keyword(s) for s in statements)
        raise QueryRefused(
            f"only one statement per call; received {len(statements)}: {kinds}. Send each SELECT as its own run_sql call."
        )
    (statement,) = statements
    kind = _first_keyword(statement)
    if kind not in READ_STARTS:
        raise QueryRefused(f"only read-only statements are allowed; received {kind}. {_HOW_TO}")
    if kind == "EXPLAIN":
        _check_explain(statement)
    _check_tokens(statement)
    ordinals, names = _sort_refs(statement)
    # What runs is the statement alone, as models write it or not: comments around it and a closing `;` dropped
    # (the engines wrap and prefix it, where a `;` would be a syntax error and a trailing `--` comment would swallow
    # the wrapper).
    text = sql[statement[0].start : statement[-1].start + len(statement[-1].text)]
    return CheckedQuery(sql=text, kind=kind, ordinal_sort_refs=ordinals, sort_names=names)


class Token(NamedTuple):
    ttype: Any
    text: str
    upper: str
    start: int  # offset in the query's text


def _significant(sql: str) -> list[Token]:
    tokens, start = [], 0
    for ttype, text in lexer.tokenize(sql):
        if not _is_skipped(ttype):
            tokens.append(Token(ttype, text, text.upper(), start))
        start += len(text)
    return tokens


def _is_skipped(ttype: object) -> bool:
    return any(ttype in kind for kind in _SKIPPED)  # type: ignore[operator]


def _split(tokens: list[Token]) -> list[list[Token]]:
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token[0] is T.Punctuation and token[1] == ";":
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def _first_keyword(statement: list[Token]) -> str:
    for _, text, upper, _ in statement:
        if text != "(":
            return upper if text.replace("_", "").isalnum() else text
    return "("


def _check_explain(statement: list[Token]) -> None:
    words = {upper for ttype, _, upper, _ in statement[1:8] if ttype in T.Keyword or ttype in T.Name}
    if words & {"ANALYZE", "ANALYSE"}:
        raise QueryRefused(
            "EXPLAIN ANALYZE executes the statement; use EXPLAIN without ANALYZE (or explain_sql) to see the plan."
        )
    inner = [t for t in statement[1:] if t[2] in ("SELECT", "WITH", "VALUES")]
    if not inner:
        raise QueryRefused(f"EXPLAIN is allowed only for SELECT, WITH ... SELECT or VALUES. {_HOW_TO}")


def _check_tokens(statement: list[Token]) -> None:
    for index, (ttype, text, upper, _) in enumerate(statement):
        previous = statement[index - 1][2] if index else ""
        if ttype in T.Keyword.DML and upper != "SELECT":
            if upper == "UPDATE" and previous in ("FOR", "KEY"):
                raise QueryRefused(_LOCKING)
            raise QueryRefused(
                f"{upper} writes data and is not allowed anywhere in the query (that includes writable CTEs such as "
                f"WITH x AS ({upper} ...)). {_HOW_TO}"
            )
        if ttype in T.Keyword.DDL or ttype in T.Keyword.DCL:
            raise QueryRefused(f"{upper} changes the schema or permissions and is not allowed. {_HOW_TO}")
        if upper == "INTO" and ttype in T.Keyword:
            raise QueryRefused("SELECT ... INTO creates a table and is not allowed; remove the INTO clause.")
        if upper == "SHARE" and previous in ("FOR", "KEY"):
            raise QueryRefused(_LOCKING)
        if _is_function_call(statement, index):
            _check_function(text)
        elif ttype in T.Name or ttype in T.Literal.String.Symbol or _follows_schema(statement, index):
            _check_name(statement, index)


def _follows_schema(statement: list[Token], index: int) -> bool:
    """A keyword the lexer found after `schema.` is a name there (information_schema.views)."""
    return (
        index >= 2
        and statement[index - 1].text == "."
        and statement[index - 2].upper in ("INFORMATION_SCHEMA",)
    )


def _is_function_call(statement: list[Token], index: int) -> bool:
    ttype = statement[index][0]
    if not (ttype in T.Name or ttype in T.Literal.String.Symbol or ttype in T.Keyword):
        return False
    return index + 1 < len(statement) and statement[index + 1][1] == "("


DISCOVERY_HINT = (
    "For the schema, use the list_tables and describe_table tools or db://schema, or query information_schema "
    "(tables, columns, views, table_constraints, key_column_usage, referential_constraints), pg_tables, pg_views "
    "and pg_indexes (PostgreSQL), sqlite_schema and pragma_table_info / pragma_index_list / pragma_foreign_key_list "
    "(SQLite)."
)
_SERVER_FACTS = (
    "settings, paths, versions, roles, statistics and other facts about the database server are not available to "
    f"this analyst. {DISCOVERY_HINT}"
)


def is_system_name(name: str) -> bool:
    """A name of the database's own catalogs and administration (case-folded, unqualified)."""
    return name.startswith(SYSTEM_PREFIXES) and name not in ALLOWED_SYSTEM_NAMES


def is_server_fact_function(name: str) -> bool:
    """A function that tells about the server rather than the data: the guard and the engines refuse it alike."""
    return name in SERVER_FACT_FUNCTIONS or is_system_name(name)


def _check_name(statement: list[Token], index: int) -> None:
    name = statement[index].text.strip('"').lower()
    if name in SYSTEM_SCHEMAS:
        member = statement[index + 2].text.strip('"').lower() if index + 2 < len(statement) else ""
        if (
            statement[index + 1 : index + 2]
            and statement[index + 1].text == "."
            and member in DISCOVERY.get(name, ())
        ):
            return
        raise QueryRefused(f"{name}.{member or '...'} is not available: {_SERVER_FACTS}")
    if is_system_name(name) and name not in DISCOVERY_NAMES:
        raise QueryRefused(f"{name} is a system catalog: {_SERVER_FACTS}")


def _check_function(text: str) -> None:
    name = text.strip('"').lower()
    if name in DENIED_FUNCTIONS or name.startswith(DENIED_FUNCTION_PREFIXES):
        raise QueryRefused(
            f"the function {name}() is not allowed: it can write, wait, reach files or other servers, or run SQL "
            "hidden in a string. Use ordinary SQL functions and operators instead."
        )
    if is_server_fact_function(name) and name not in DISCOVERY["pragma"]:
        raise QueryRefused(f"the function {name}() is refused: {_SERVER_FACTS}")


def _sort_refs(statement: list[Token]) -> tuple[tuple[int, ...], frozenset[str]]:
    """Result positions (`ORDER BY 2`) and names (`ORDER BY e`) used to order or group, which the masker must see
    through: sorting by a masked column would reveal the order of the real values."""
    refs: list[int] = []
    names: set[str] = set()
    in_clause = False
    for index, (ttype, text, upper, _) in enumerate(statement):
        if " ".join(upper.split()) in ("ORDER BY", "GROUP BY"):
            in_clause = True
            continue
        if in_clause:
            if ttype in T.Literal.Number.Integer and (
                statement[index - 1][1] == "," or "BY" in statement[index - 1][2]
            ):
                refs.append(int(text))
            elif ttype in T.Name or ttype in T.Literal.String.Symbol:
                names.add(text.strip('"').lower())
            elif ttype in T.Keyword and upper not in ("ASC", "DESC", "NULLS", "FIRST", "LAST"):
                in_clause = False
    return tuple(refs), frozenset(names)
