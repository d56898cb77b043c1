"""SQLite through APSW: opened read-only, query_only on, and an authorizer that allows reads and an allowlist of
functions only. The authorizer also reports every column the statement reads, and APSW exposes each output
column's origin (SQLite's column metadata): together, the lineage the masker needs."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw

from analyst.catalog import ColumnInfo, ForeignKey, IndexInfo, TableInfo
from analyst.engines import ConfigurationError, EngineError, Limits
from analyst.engines.watchdog import Watchdog
from analyst.guard import CheckedQuery
from analyst.lineage import Column, Lineage
from analyst.pii import Policy

# Scalar, aggregate and window functions that only compute. Anything else (load_extension, readfile, writefile,
# zeroblob, fts3_tokenizer, ...) is denied by the authorizer whatever the SQL text looked like.
ALLOWED_FUNCTIONS = frozenset(
    """
    abs avg count max min sum total group_concat string_agg round upper lower length octet_length substr substring
    trim ltrim rtrim replace instr coalesce ifnull nullif iif if date time datetime julianday strftime unixepoch
    timediff printf format like glob typeof quote char unicode sign ceil ceiling floor exp ln log log10 log2 pow
    power sqrt mod pi trunc radians degrees sin cos tan asin acos atan atan2 sinh cosh tanh hex unhex concat
    concat_ws likelihood likely unlikely random json json_extract json_object json_array json_group_array
    json_group_object json_type json_valid json_array_length json_quote json_each json_tree -> ->>
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
    changes total_changes median percentile percentile_cont percentile_disc
    """.split()
)
# Schema discovery: the schema table's rows, and the pragmas that describe one user table, as table functions.
SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_temp_master"})
DESCRIBING_PRAGMAS = frozenset(
    "table_info table_xinfo index_list index_info index_xinfo foreign_key_list".split()
)
PROGRESS_STEPS = 1000  # VM instructions between timeout checks
IDLE_CONNECTIONS = 4  # kept open between calls: the schema stays parsed and the page cache warm
WHOLE_IN_CACHE_BYTES = (
    64 * 1024 * 1024
)  # an immutable database up to this size is kept whole in the page cache


@dataclass
class _Execution:
    columns: list[str]
    lineage: Lineage
    cursor: apsw.Cursor
    stopped: str | None = None  # SQLite refuses an oversized value itself (SQLITE_LIMIT_LENGTH)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        yield from self.cursor


@dataclass
class SqliteEngine:
    path: Path
    dialect: str = "sqlite"
    immutable: bool = False  # the file is in the container image's layers: nothing can change it while we run
    _idle: list[apsw.Connection] = field(default_factory=list, repr=False)
    _idle_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SqliteEngine:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise ConfigurationError(f"no SQLite database at {path}")
        if "ENABLE_COLUMN_METADATA" not in apsw.compile_options:
            raise ConfigurationError("this SQLite build has no column metadata, which PII masking needs")
        engine = cls(path, immutable=in_image_layers(path))
        engine._release(engine._connect(), clean=True)  # the first call finds the schema read
        return engine

    def _connect(self) -> apsw.Connection:
        # mode=ro and SQLITE_OPEN_READONLY: the file itself is opened read-only. query_only refuses writes even to
        # temporary tables. Both are set before the authorizer, which then denies any PRAGMA.
        # No statement cache: every call prepares its statement afresh, so the authorizer sees (and reports) every
        # column it reads; a cached statement would run without asking it.
        # A file in the image's layers is read as immutable: no lock and no change check per statement, each of
        # which is a trip through the storage driver (fuse-overlayfs on some engines).
        connection = apsw.Connection(
            f"{self.path.resolve().as_uri()}?mode=ro{'&immutable=1' if self.immutable else ''}",
            flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI,
            statementcachesize=0,
        )
        connection.execute("PRAGMA query_only = ON")
        size = self.path.stat().st_size
        if self.immutable and size <= WHOLE_IN_CACHE_BYTES:
            # Pages read once stay in memory for the connection's life: what the image holds is read through the
            # storage driver once, not by every call that scans a table.
            connection.execute(f"PRAGMA cache_size = -{size // 1024 + 1024}")
        connection.execute("SELECT count(*) FROM sqlite_schema").fetchall()  # the schema parsed once, here
        return connection

    def schema_ddl(self, policy: Policy) -> str:
        connection = self._connect()
        try:
            tables = connection.execute(
                "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
                "ORDER BY type = 'index', name"
            ).fetchall()
            parts = []
            for kind, name, sql in tables:
                name, statement = str(name), f"{str(sql).strip()};"
                if kind in ("table", "view"):
                    statement += _pii_comment(policy, name, _columns(connection, name))
                parts.append(statement)
        finally:
            connection.close()
        return "\n\n".join(parts)

    def tables(self) -> dict[str, list[str]]:
        connection = self._connect()
        try:
            names = [row[0] for row in connection.execute(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )]  # fmt: skip
            return {name: _columns(connection, name) for name in names}
        finally:
            connection.close()

    def describe(self) -> list[TableInfo]:
        connection = self._connect()
        try:
            return [_describe(connection, str(name), str(kind)) for kind, name in connection.execute(
                "SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )]  # fmt: skip
        finally:
            connection.close()

    def _connection_for(self) -> apsw.Connection:
        """An idle connection of an earlier call, or a new one. A connection holds no state of its calls: it is
        read-only and query_only, and each call sets its own authorizer, limit and progress handler."""
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _release(self, connection: apsw.Connection, clean: bool) -> None:
        """Kept for the next call after a clean end only: a connection that failed or was interrupted is closed."""
        with self._idle_lock:
            if clean and len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    @contextmanager
    def execute(self, query: CheckedQuery, limits: Limits) -> Iterator[_Execution]:
        connection = self._connection_for()
        clean = False
        # SQLite itself refuses to make a string or blob longer than the result cap: no value beyond it is built.
        connection.limit(apsw.SQLITE_LIMIT_LENGTH, max(limits.max_result_bytes, 1000))
        timeout_seconds = limits.timeout_seconds
        sql = f"EXPLAIN QUERY PLAN {query.sql}" if query.plan_only else query.sql
        reads: Counter[Column] = Counter()
        deadline = time.monotonic() + timeout_seconds
        described: list[tuple[Any, ...]] = []

        def authorize(
            action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None
        ) -> int:
            if action == apsw.SQLITE_READ:
                if arg1 and arg1.lower().startswith("sqlite_") and arg1.lower() not in SCHEMA_TABLES:
                    return apsw.SQLITE_DENY  # SQLite's statistics and sequences: server facts, not the schema
                if arg1 and arg2 is not None:
                    reads[(arg1, arg2)] += 1
                return apsw.SQLITE_OK
            if action in (apsw.SQLITE_SELECT, apsw.SQLITE_RECURSIVE):
                return apsw.SQLITE_OK
            if action == apsw.SQLITE_FUNCTION and arg2 is not None and arg2.lower() in ALLOWED_FUNCTIONS:
                return apsw.SQLITE_OK
            if action == apsw.SQLITE_PRAGMA and _describes_a_user_table(arg1, arg2):
                return apsw.SQLITE_OK  # pragma_table_info('t') and its kin, run as a table function
            return apsw.SQLITE_DENY

        def one_read_only_statement(cursor: apsw.Cursor, _sql: str, _bindings: Any) -> bool:
            # Called once per statement, prepared but not yet run: a second statement aborts the call, and the
            # output description is taken here because an empty result has none once execution completes.
            if described or not cursor.is_readonly:
                return False
            described.append(cursor.description_full)
            return True

        connection.authorizer = authorize
        # Two bounds from the first instruction: the progress handler checks the deadline as the statement runs,
        # and the watchdog interrupts the connection at the deadline should one step take long.
        connection.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
        cursor = connection.cursor()
        cursor.exec_trace = one_read_only_statement
        try:
            with Watchdog(connection.interrupt, timeout_seconds):
                cursor.execute(sql)
                description = described[0] if described else ()
                origins: list[Column | None] = [(d[3], d[4]) if d[3] and d[4] else None for d in description]
                lineage = Lineage(reads=reads, origins=origins)
                yield _Execution([d[0] for d in description], lineage, cursor)
                cursor.close()  # the statement reset, whether or not every row was read
                clean = True
        except apsw.ExecTraceAbort:
            raise EngineError("the statement was refused: only one read-only statement may run") from None
        except apsw.InterruptError:
            raise EngineError(f"the query ran longer than {timeout_seconds:g} s and was stopped") from None
        except apsw.TooBigError:
            raise EngineError(
                f"a value would exceed the result cap of {limits.max_result_bytes} bytes; select a shorter one "
                "(e.g. substr(...)) or aggregate less"
            ) from None
        except apsw.AuthError as exc:
            raise EngineError(
                f"not authorized: {exc} (this connection only reads, with a fixed set of functions)"
            ) from None
        except apsw.Error as exc:
            raise EngineError(str(exc).removeprefix("SQLError: ")) from None
        finally:
            self._release(connection, clean)

    def close(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def in_image_layers(path: Path, mountinfo: Path = Path("/proc/self/mountinfo")) -> bool:
    """Whether `path` lies in a container image's own layers: under no mount of its own (a volume or a bind mount
    can change under the server), on an overlay root, and not writable by this process (nor then by the server)."""
    try:
        mounts = mountinfo.read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    resolved = str(path.resolve())
    best, kind = "", ""
    for line in mounts:
        fields, _, tail = line.partition(" - ")
        parts, described = fields.split(), tail.split()
        if len(parts) < 5 or not described:
            continue
        point = parts[4].replace("\\040", " ")
        inside = point == "/" or resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, described[0]
    return best == "/" and "overlay" in kind and not os.access(path, os.W_OK)


def _describes_a_user_table(pragma: str | None, argument: str | None) -> bool:
    return (
        (pragma or "").lower() in DESCRIBING_PRAGMAS
        and bool(argument)
        and not str(argument).lower().startswith("sqlite_")
    )


def _describe(connection: apsw.Connection, table: str, kind: str) -> TableInfo:
    columns = connection.execute(
        'SELECT name, type, "notnull", pk FROM pragma_table_info(?)', (table,)
    ).fetchall()
    primary_key = [str(name) for name, *_, pk in sorted(columns, key=lambda c: int(c[3] or 0)) if pk]
    # An INTEGER PRIMARY KEY is the rowid, never NULL whatever its notnull flag says.
    rowid = {
        str(name)
        for name, kind_of, _, pk in columns
        if pk and len(primary_key) == 1 and str(kind_of).upper() == "INTEGER"
    }
    foreign: dict[int, ForeignKey] = {}
    for key, target, column, referenced in connection.execute(
        'SELECT id, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq', (table,)
    ):
        entry = foreign.setdefault(
            key, ForeignKey(columns=[], references_table=str(target), references_columns=[])
        )
        entry.columns.append(str(column))
        entry.references_columns.append(str(referenced) if referenced is not None else "")
    indexes = [
        IndexInfo(name=str(name), columns=_index_columns(connection, str(name)), unique=bool(unique))
        for name, unique in connection.execute('SELECT name, "unique" FROM pragma_index_list(?)', (table,))
    ]
    return TableInfo(
        name=table,
        kind=kind,
        columns=[
            ColumnInfo(name=str(n), type=str(t or ""), nullable=not notnull and str(n) not in rowid)
            for n, t, notnull, _ in columns
        ],
        primary_key=primary_key,
        foreign_keys=list(foreign.values()),
        indexes=indexes,
        estimated_rows=_estimated_rows(connection, table) if kind == "table" else None,
    )


def _index_columns(connection: apsw.Connection, index: str) -> list[str]:
    query = "SELECT coalesce(name, '<expression>') FROM pragma_index_info(?) ORDER BY seqno"
    return [str(name) for (name,) in connection.execute(query, (index,))]


def _estimated_rows(connection: apsw.Connection, table: str) -> int | None:
    """The largest rowid: read from the table's b-tree in a few page reads, where count(*) scans it all."""
    quoted = '"' + table.replace('"', '""') + '"'
    try:
        row = connection.execute(f"SELECT max(rowid) FROM {quoted}").fetchone()
    except apsw.SQLError:  # WITHOUT ROWID
        return None
    return int(row[0]) if row and row[0] is not None else 0


def _columns(connection: apsw.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in connection.execute("SELECT * FROM pragma_table_info(?)", (table,))]


def _pii_comment(policy: Policy, table: str, columns: list[str]) -> str:
    marked = [(c, p.rule.action.value) for c in columns if (p := policy.column(table, c))]
    if not marked:
        return ""
    return "\n-- personal data: " + ", ".join(f"{c} ({action})" for c, action in marked)
