"""The safety layer: three walls, each shown holding on its own, then together against the adversarial corpus."""

from __future__ import annotations

import json
import time

import pytest
from corpus import ADVERSARIAL, WRITES, variant

from analyst import guard
from analyst.engines import EngineError
from analyst.guard import CheckedQuery, QueryRefused
from analyst.pii import Policy, scrub_value
from analyst.runner import Limits, run_query, to_cell

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
            unchecked = CheckedQuery(
                sql=sql, kind="SELECT", ordinal_sort_refs=()
            )  # the guard bypassed on purpose
            with target.engine.execute(unchecked, Limits(timeout_seconds=2.0)) as execution:
                list(execution.rows())
            outcomes["ran"] += 1
        except (EngineError, QueryRefused):  # the engine's own refusals (its plan check raises QueryRefused)
            outcomes["refused"] += 1
    assert target.digest() == before, "a write reached the database"
    assert outcomes["refused"] >= len(WRITES) * 0.8, outcomes


def test_the_result_wall_caps_rows_at_fetch_time(target) -> None:
    endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"
    result = run_query(target.engine, Policy(), endless, Limits(row_limit=10, timeout_seconds=5))
    assert result.row_count == 10 and result.truncated and "row limit" in (result.note or "")


@pytest.mark.parametrize("target", [pytest.param("postgresql", marks=pytest.mark.docker)], indirect=True)
def test_a_query_without_columns_is_answered(target) -> None:  # SQLite has no SELECT without columns
    result = run_query(target.engine, Policy(), "SELECT FROM products LIMIT 3", LIMITS)
    assert (result.columns, result.row_count) == ([], 3)


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


# Subqueries that aggregate, filter or count non-personal columns of a table that also has personal ones: the
# planner may scan its whole row for them, which is not a use of the personal columns.
SUBQUERIES_ON_TABLES_WITH_PERSONAL_DATA = [
    "SELECT count(*) FROM customers WHERE id > (SELECT avg(id) FROM customers)",
    "SELECT city, count(*) FROM customers WHERE id IN (SELECT customer_id FROM orders GROUP BY customer_id "
    "HAVING count(*) > 3) GROUP BY city ORDER BY city",
    "SELECT count(*) FROM orders o WHERE o.customer_id = (SELECT max(c.id) FROM customers c WHERE c.city = 'Lyon')",
    "SELECT count(*) FROM customers c WHERE EXISTS (SELECT 1 FROM customers d WHERE d.city = c.city AND d.id < c.id)",
]
# ... and what personal data must still not get through a subquery: a filter or a computation on it is refused (a
# count would answer questions about the values), a plain copy of it is refused or comes back masked.
SUBQUERY_LEAKS = {
    "SELECT count(*) FROM customers WHERE id IN (SELECT id FROM customers WHERE email LIKE 'a%')": "refused",
    "SELECT (SELECT ssn FROM customers ORDER BY id LIMIT 1) AS first": "refused or masked",
    "SELECT count(*) FROM orders WHERE customer_id > (SELECT length(max(email)) FROM customers)": "refused",
}


@pytest.mark.parametrize("sql", SUBQUERIES_ON_TABLES_WITH_PERSONAL_DATA)
def test_subqueries_over_non_personal_columns_are_answered(target, sql: str) -> None:
    result = run_query(target.engine, Policy(), sql, LIMITS)
    assert result.rows == [[to_cell(v) for v in row] for row in target.raw_rows(sql, 100)]


@pytest.mark.parametrize("sql", SUBQUERY_LEAKS)
def test_personal_data_through_a_subquery_is_still_refused_or_masked(target, sql: str) -> None:
    try:
        result = run_query(target.engine, Policy(), sql, LIMITS)
    except QueryRefused as exc:
        text = str(exc)
        assert "personal data" in text
    else:
        assert SUBQUERY_LEAKS[sql] == "refused or masked", f"answered: {result.rows}"
        assert result.masked_columns == ["first (customers.ssn: redact)"]
        text = json.dumps(result.model_dump())
    assert not [value for value in target.pii_values if value in text]


SERVER_FACTS = {
    "postgresql": [
        "SELECT current_setting('data_directory')",
        "SELECT setting FROM pg_settings WHERE name = 'data_directory'",
        "SELECT setting FROM pg_catalog.pg_settings",
        "SELECT version()",
        "SELECT inet_server_addr(), inet_server_port()",
        "SELECT query FROM pg_stat_activity",
        "SELECT rolname, rolpassword FROM pg_authid",
        "SELECT tableowner FROM pg_tables",
        "SELECT * FROM information_schema.schemata",
        "SELECT pg_postmaster_start_time()",
        "SELECT pg_relation_filepath('customers')",
    ],
    "sqlite": [
        "SELECT sqlite_version()",
        "SELECT * FROM sqlite_stat1",
        "SELECT * FROM pragma_compile_options",
        "SELECT * FROM pragma_database_list",
        "SELECT sqlite_source_id()",
    ],
}


def test_server_facts_are_refused_like_file_access(target) -> None:
    for sql in SERVER_FACTS[target.dialect]:
        with pytest.raises(QueryRefused, match=r"not available|not allowed|refused"):
            run_query(target.engine, Policy(), sql, LIMITS)


def test_type_questions_about_the_querys_own_values_stay_answered(target) -> None:
    sql = {"postgresql": "SELECT pg_typeof(1) AS t", "sqlite": "SELECT typeof(1) AS t"}[target.dialect]
    assert run_query(target.engine, Policy(), sql, LIMITS).rows == [["integer"]]


def test_the_engine_refuses_server_facts_the_guard_never_saw(target) -> None:
    for sql in SERVER_FACTS[target.dialect]:
        unchecked = CheckedQuery(sql=sql, kind="SELECT", ordinal_sort_refs=())
        with (
            pytest.raises((QueryRefused, EngineError)),
            target.engine.execute(unchecked, LIMITS) as execution,
        ):
            list(execution.rows())


def test_json_values_come_back_as_json_values(target) -> None:
    sql = {"postgresql": """SELECT '{"a": [1, "x"], "n": null}'::jsonb AS doc, '[1, 2]'::json AS list""",
           "sqlite": """SELECT json_object('a', json_array(1, 'x'), 'n', NULL) AS doc, json('[1, 2]') AS list"""}  # fmt: skip
    (row,) = run_query(target.engine, Policy(), sql[target.dialect], LIMITS).rows
    if target.dialect == "postgresql":
        assert row == [{"a": [1, "x"], "n": None}, [1, 2]]
    else:  # SQLite has no JSON type: its JSON is text
        assert json.loads(str(row[0])) == {"a": [1, "x"], "n": None}


def test_personal_data_inside_json_values_is_redacted() -> None:
    assert scrub_value({"contact": ["ann@example.com", 3]}) == ({"contact": ["[REDACTED email]", 3]}, 1)


def test_a_single_huge_value_is_never_received_and_the_call_stays_in_time(target) -> None:
    huge = {
        "postgresql": "SELECT string_agg(repeat('x', 1000), '') AS blob FROM generate_series(1, 50000)",
        "sqlite": "SELECT printf('%.*c', 50000000, 'x') AS blob",
    }[target.dialect]
    started = time.monotonic()
    try:
        result = run_query(
            target.engine, Policy(), huge, Limits(max_result_bytes=100_000, timeout_seconds=10)
        )
    except EngineError as exc:  # SQLite refuses to build it at all
        assert "result cap of 100000 bytes" in str(exc)
    else:
        assert (
            result.truncated and "larger than the result size cap" in (result.note or "") and not result.rows
        )
    assert time.monotonic() - started < 10
