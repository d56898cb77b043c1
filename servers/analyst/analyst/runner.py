"""One run_sql call through the three walls: the guard, the engine, and the result caps, with masking between."""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, WithJsonSchema

from analyst import guard, lineage, pii
from analyst.engines import Engine, EngineError, Limits

# JSON and JSONB values come back as JSON values, not as strings of JSON text. Published as the empty schema: the
# union names every JSON type, so it accepts exactly what {} accepts, but a client that checks results against the
# output schema (the official SDK's does) tries up to seven schemas on every cell: 1.7 ms on a 20-row result.
Cell = Annotated[str | int | float | bool | dict[str, Any] | list[Any] | None, WithJsonSchema({})]


class QueryResult(BaseModel):
    columns: list[str] = Field(description="Column names, in order.")
    rows: list[list[Cell]] = Field(description="The rows, at most the row limit; personal data masked.")
    row_count: int = Field(description="Rows returned.")
    truncated: bool = Field(description="True when the query produced more than the rows returned.")
    masked_columns: list[str] = Field(
        description="Output columns whose values were masked, with the action applied."
    )
    redacted_values: int = Field(
        0, description="Values the detectors replaced because they looked like personal data."
    )
    note: str | None = Field(None, description="Why the result was truncated, if it was.")


def run_query(
    engine: Engine, policy: pii.Policy, sql: str, limits: Limits, *, explain: bool = False
) -> QueryResult:
    """Raises guard.QueryRefused (and its PiiRefused) or EngineError with messages safe for the model. With
    `explain`, the query's plan instead of its rows."""
    checked = guard.check(sql, explain=explain)
    try:
        with engine.execute(checked, limits) as execution:
            # A plan carries no table data, only the query's own text: nothing in it to mask.
            mask_plan = (
                lineage.MaskPlan({})
                if checked.explain
                else lineage.plan(
                    execution.lineage,
                    policy,
                    execution.columns,
                    checked.ordinal_sort_refs,
                    checked.sort_names,
                )
            )
            result = _collect(execution.columns, execution.rows(), mask_plan, policy, limits)
            if execution.stopped:
                return result.model_copy(update={"truncated": True, "note": execution.stopped})
            return result
    except EngineError as exc:
        raise EngineError(scrub_error(str(exc))) from None


def _collect(
    columns: list[str], source: Any, plan: lineage.MaskPlan, policy: pii.Policy, limits: Limits
) -> QueryResult:
    rows: list[list[Cell]] = []
    size = 0
    redacted = 0
    note = None
    for raw in source:
        if len(rows) == limits.row_limit:
            note = f"stopped at the row limit of {limits.row_limit}; aggregate in SQL or add a WHERE clause"
            break
        row: list[Cell] = []
        for position, value in enumerate(raw):
            column = plan.columns.get(position)
            if column is not None:
                row.append(to_cell(pii.apply(policy, column, value)))
                continue
            cell, found = pii.scrub_value(to_cell(value))
            redacted += found
            row.append(cell)
        size += len(json.dumps(row, default=str))
        if size > limits.max_result_bytes:
            note = f"stopped at the result size cap of {limits.max_result_bytes} bytes; select fewer or narrower columns"
            break
        rows.append(row)
    masked = [f"{columns[i]} ({c.label}: {c.rule.action.value})" for i, c in sorted(plan.columns.items())]
    return QueryResult(
        columns=columns,
        rows=rows,
        row_count=len(rows),
        truncated=note is not None,
        masked_columns=masked,
        redacted_values=redacted,
        note=note,
    )


def to_cell(value: Any) -> Cell:
    """A database value as JSON carries it: dates in ISO 8601, decimals as exact strings, bytes in base64, JSON
    documents as JSON values."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): to_cell(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_cell(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + base64.b64encode(bytes(value)).decode()
    if isinstance(value, UUID):
        return str(value)
    return str(value)


# Database messages quote the offending value ("invalid input syntax for type integer: "ann@example.com"").
_QUOTED_VALUE = re.compile(
    r'(?P<lead>(?:input syntax|input value|out of range|too long)[^:"]*:\s*)"[^"]*"', re.I
)


def scrub_error(message: str) -> str:
    message = _QUOTED_VALUE.sub(r'\g<lead>"<value withheld>"', message)
    return pii.scrub(message)[0]


def render_text(result: QueryResult, max_rows: int = 50) -> str:
    """The short text a model reads beside the structured result: a summary line, then tab-separated rows."""
    summary = f"{result.row_count} row{'s' if result.row_count != 1 else ''}"
    if result.truncated:
        summary += f" (truncated: {result.note})"
    if result.masked_columns:
        summary += "; masked: " + ", ".join(result.masked_columns)
    if result.redacted_values:
        summary += f"; {result.redacted_values} value(s) redacted as personal data"
    lines = [summary, "\t".join(result.columns)]
    lines += ["\t".join("NULL" if v is None else str(v) for v in row) for row in result.rows[:max_rows]]
    if result.row_count > max_rows:
        lines.append(f"... {result.row_count - max_rows} more rows in the structured result")
    return "\n".join(lines)
