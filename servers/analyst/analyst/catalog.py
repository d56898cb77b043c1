"""What list_tables and describe_table answer: the tables and views, their columns and types, which columns are
personal data, their keys and indexes, and an estimated row count. The engines read the facts; the policy adds
which columns are personal data, as db://schema marks them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from analyst.pii import Policy


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool
    personal_data: str | None = Field(
        None,
        description="How its values come back (mask, hash, redact, deny) when it is personal data; else null.",
    )


class ForeignKey(BaseModel):
    columns: list[str]
    references_table: str
    references_columns: list[str]


class IndexInfo(BaseModel):
    name: str
    columns: list[str] = Field(description="Its key columns or expressions, in order.")
    unique: bool


class TableInfo(BaseModel):
    name: str = Field(description="The name to use in SQL (schema-qualified outside the default schema).")
    kind: str = Field(description="table, view, materialized view, foreign table or partitioned table")
    columns: list[ColumnInfo]
    primary_key: list[str]
    foreign_keys: list[ForeignKey]
    indexes: list[IndexInfo]
    estimated_rows: int | None = Field(
        None,
        description="An estimate, not a count (PostgreSQL's statistics, SQLite's largest rowid); null if unknown.",
    )


class TableSummary(BaseModel):
    name: str
    kind: str
    columns: int
    personal_data_columns: list[str]
    estimated_rows: int | None


class TableList(BaseModel):
    tables: list[TableSummary]
    next_step: str = "call describe_table with a name for its columns, keys and indexes; run_sql to query"


def mark_personal_data(tables: list[TableInfo], policy: Policy) -> list[TableInfo]:
    for table in tables:
        for column in table.columns:
            pii = policy.column(table.name, column.name)
            column.personal_data = pii.rule.action.value if pii else None
    return tables


def summarise(tables: list[TableInfo]) -> TableList:
    return TableList(
        tables=[
            TableSummary(
                name=t.name,
                kind=t.kind,
                columns=len(t.columns),
                personal_data_columns=[c.name for c in t.columns if c.personal_data],
                estimated_rows=t.estimated_rows,
            )
            for t in tables
        ]
    )


def find(tables: list[TableInfo], name: str) -> TableInfo | None:
    wanted = name.strip().strip('"').lower()
    return next((t for t in tables if t.name.lower() in (wanted, wanted.removeprefix("public."))), None)
