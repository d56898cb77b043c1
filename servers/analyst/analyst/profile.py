"""profile_table: per-column statistics of one table, as a long-running job. Every statistic is an ordinary
query through the same walls as run_sql; personal-data columns are listed but not profiled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analyst.engines import Engine
from analyst.pii import Policy
from analyst.runner import Cell, Limits, run_query
from mcpkit_runtime.jobs import JobHandle


def profile_work(
    engine: Engine, policy: Policy, table: str, columns: list[str], limits: Limits
) -> Callable[[JobHandle], dict[str, Any]]:
    quoted_table = _quote(table)

    def work(handle: JobHandle) -> dict[str, Any]:
        (total,) = run_query(engine, policy, f"SELECT count(*) FROM {quoted_table}", limits).rows[0]
        profiles: list[dict[str, Any]] = []
        for index, column in enumerate(columns):
            handle.progress(index, len(columns), f"profiling {table}.{column}")
            pii = policy.column(table, column)
            if pii is not None:
                profiles.append({"column": column, "personal_data": pii.rule.action.value, "profiled": False})
                continue
            name = _quote(column)
            stats = run_query(
                engine, policy,
                f"SELECT count({name}), count(DISTINCT {name}), min({name}), max({name}) FROM {quoted_table}", limits,
            ).rows[0]  # fmt: skip
            top = run_query(
                engine, policy,
                f"SELECT {name}, count(*) AS n FROM {quoted_table} GROUP BY {name} ORDER BY n DESC, {name} LIMIT 5",
                limits,
            ).rows  # fmt: skip
            non_null = _count(stats[0])
            profile: dict[str, Any] = {
                "column": column,
                "non_null": non_null,
                "nulls": _count(total) - non_null,
            }
            profile |= {"distinct": stats[1], "min": stats[2], "max": stats[3]}
            profile["top_values"] = [{"value": v, "count": n} for v, n in top]
            profiles.append(profile)
        handle.progress(len(columns), len(columns), "done")
        return {"table": table, "rows": total, "columns": profiles}

    return work


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _count(cell: Cell) -> int:
    return int(cell) if isinstance(cell, int | str | float) else 0
