"""The safety layer: three walls, each shown holding on its own, then together against the adversarial corpus."""

from __future__ import annotations

import pytest
from corpus import ADVERSARIAL, WRITES, variant

from analyst import guard
from analyst.engines import EngineError
from analyst.guard import QueryRefused
from analyst.pii import Policy
from analyst.runner import Limits, run_query

LIMITS = Limits(row_limit=100, timeout_seconds=2.0, max_result_bytes=200_000)


@pytest.mark.parametrize("sql", WRITES)
def test_the_guard_alone_refuses_every_write(sql: str) -> None:
    with pytest.raises(QueryRefused):
        guard.check(sql)


def test_refusals_say_what_was_wrong_and_how_to_rephrase() -> None:
    with pytest.raises(QueryRefused, match=r"only one statement per call; received 2: SELECT, DROP"):
        guard.check("SELECT 1; DROP TABLE t")
    with pytest.raises(QueryRefused, match=r"writable CTEs"):
        guard.check("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x")
    with pytest.raises(QueryRefused, match=r"SELECT \.\.\. INTO creates a table"):
        guard.check("select * into newt from t")


def test_the_engine_alone_refuses_writes_the_guard_never_saw(target) -> None:
    before = target.digest()
    outcomes = {"refused": 0, "ran": 0}
    for sql in WRITES:
        try:
            with target.engine.execute(sql, 2.0) as execution:
                list(execution.rows())
            outcomes["ran"] += 1
        except EngineError:
            outcomes["refused"] += 1
    assert target.digest() == before, "a write reached the database"
    assert outcomes["refused"] >= len(WRITES) * 0.8, outcomes


def test_the_result_wall_caps_rows_at_fetch_time(target) -> None:
    endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"
    result = run_query(target.engine, Policy(), endless, Limits(row_limit=10, timeout_seconds=5))
    assert result.row_count == 10 and result.truncated and "row limit" in (result.note or "")


def test_the_result_wall_caps_bytes(target) -> None:
    result = run_query(target.engine, Policy(), "SELECT * FROM order_items", Limits(max_result_bytes=1_000))
    assert result.truncated and "size cap" in (result.note or "") and 0 < result.row_count < 100


def test_adversarial_corpus_is_refused_or_harmless(target) -> None:
    before = target.digest()
    ran = []
    for query in ADVERSARIAL:
        sql = variant(query, target.dialect)
        try:
            run_query(target.engine, Policy(), sql, LIMITS)
            ran.append(sql)
        except (QueryRefused, EngineError) as exc:
            assert "Traceback" not in str(exc) and str(exc)
    assert target.digest() == before, "the database changed"
    assert len(ran) <= 8, f"only the harmless ones may run: {ran}"


def test_a_statement_timeout_stops_runaway_queries(target) -> None:
    with pytest.raises(EngineError, match="ran longer than 1 s"):
        run_query(
            target.engine,
            Policy(),
            "SELECT count(*) FROM order_items a, order_items b, order_items c",
            Limits(timeout_seconds=1),
        )
    assert run_query(target.engine, Policy(), "SELECT 1 AS ok", LIMITS).rows == [[1]], (
        "the connection recovers"
    )
