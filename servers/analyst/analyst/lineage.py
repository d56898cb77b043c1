"""From what the engine says a statement reads, to what each output column must become.

Both engines report lineage themselves: every column a statement reads (SQLite's authorizer; PostgreSQL's verbose
plan), and, for each output column that is a plain reference to a table column through any aliases, subqueries or
CTEs, that origin (SQLite's column metadata; PostgreSQL's RowDescription). A personal-data column may flow to the
output only as such a plain reference, where it is masked. Any other use (inside an expression or aggregate, in a
filter, a join, a grouping or an ordering, or through a UNION) is refused: when lineage is not certain, refuse.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from analyst.guard import QueryRefused
from analyst.pii import Action, PiiColumn, Policy

Column = tuple[str, str]  # (table, column)


@dataclass
class Lineage:
    reads: Counter[Column]  # every resolved reference to a table column, with multiplicity
    origins: list[Column | None]  # per output column: the table column it is a plain copy of, if any
    in_expressions: set[Column] | None = (
        None  # known uses inside computed values; None: the engine cannot tell
    )


@dataclass(frozen=True)
class MaskPlan:
    columns: dict[int, PiiColumn]  # output position -> the personal-data column it carries


class PiiRefused(QueryRefused):
    pass


def plan(
    lineage: Lineage,
    policy: Policy,
    output_names: list[str],
    ordinal_refs: tuple[int, ...] = (),
    sort_names: frozenset[str] = frozenset(),
) -> MaskPlan:
    pending = Counter({c: n for c, n in lineage.reads.items() if policy.column(*c)})
    masked: dict[int, PiiColumn] = {}
    for position, origin in enumerate(lineage.origins):
        pii = policy.column(*origin) if origin else None
        if pii is None:
            continue
        if pii.rule.action is Action.DENY:
            raise PiiRefused(
                f"{pii.label} holds personal data that this server does not return at all; remove it from the query."
            )
        masked[position] = pii
        pending[origin] -= 1  # type: ignore[index]
    for ref in ordinal_refs:
        if ref - 1 in masked:
            raise PiiRefused(_misuse([masked[ref - 1].label], "ORDER BY / GROUP BY position"))
    for position, pii in masked.items():
        if position < len(output_names) and output_names[position].lower() in sort_names:
            raise PiiRefused(_misuse([pii.label], f"ORDER BY / GROUP BY {output_names[position]}"))
    leftover = sorted(f"{t}.{c}" for (t, c), n in pending.items() if n > 0)
    if leftover:
        in_expressions = lineage.in_expressions
        computed = (
            any(origin is None for origin in lineage.origins)
            if in_expressions is None
            else bool({c for c in in_expressions if policy.column(*c)})
        )
        if policy.refuse_pii_in_filters or computed:
            raise PiiRefused(_misuse(leftover, None))
    return MaskPlan(masked)


def _misuse(columns: list[str], where: str | None) -> str:
    names = ", ".join(columns)
    place = f" (here: {where})" if where else ""
    return (
        f"{names} holds personal data: it may be selected as a plain column (the values come back masked), but not "
        f"used in expressions, functions or aggregates, in WHERE, JOIN, GROUP BY or ORDER BY, or through UNION{place}. "
        "Rewrite the query without it, e.g. count(DISTINCT id) instead of count(DISTINCT email), or filter on a "
        "non-personal column."
    )
