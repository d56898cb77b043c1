"""Real analytic work must pass and be right; extraction attempts must leak nothing."""

from __future__ import annotations

import json

from corpus import DISCOVERY, LEGITIMATE, PII_ATTEMPTS, SEMICOLONS, SERVER_CATALOGS, STACKED, leaked, variant

from analyst.engines import EngineError, open_engine
from analyst.guard import QueryRefused
from analyst.pii import Policy
from analyst.runner import Limits, run_query

LIMITS = Limits(row_limit=100, timeout_seconds=10.0)


def test_legitimate_queries_are_accepted_and_return_what_the_database_returns(target) -> None:
    failures = []
    for query in LEGITIMATE:
        sql = variant(query, target.dialect)
        try:
            result = run_query(target.engine, Policy(), sql, LIMITS)
        except (QueryRefused, EngineError) as exc:
            failures.append(f"{sql}\n  -> {exc}")
            continue
        if sql.upper().startswith("EXPLAIN"):
            assert result.rows, sql
            continue
        expected = target.raw_rows(sql, LIMITS.row_limit)
        if not _same(result.rows, expected) or result.masked_columns:
            failures.append(
                f"{sql}\n  -> got {result.rows[:3]} masked={result.masked_columns}, want {expected[:3]}"
            )
    assert not failures, "\n".join(failures)


def test_personal_data_never_leaves_in_results_or_errors(target) -> None:
    outcomes = {"refused": 0, "masked": 0}
    leaks = []
    for query in PII_ATTEMPTS:
        sql = variant(query, target.dialect)
        try:
            result = run_query(target.engine, Policy(), sql, LIMITS)
            text = json.dumps(result.model_dump())
            outcomes["masked"] += 1
        except (QueryRefused, EngineError) as exc:
            text = str(exc)
            outcomes["refused"] += 1
        found = leaked(text, target.pii_values)
        if found:
            leaks.append(f"{sql}: {sorted(found)[:3]}")
    assert not leaks, "\n".join(leaks)
    assert outcomes["refused"] >= 30 and outcomes["masked"] >= 5, outcomes


def _same(rows: list[list[object]], expected: list[list[object]]) -> bool:
    """Equal, with floats compared to 1e-9: APSW's SQLite may sum in another order than the stdlib's."""
    if len(rows) != len(expected):
        return False
    for row, other in zip(rows, expected, strict=True):
        for a, b in zip(row, other, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if abs(a - b) > 1e-9 * max(1.0, abs(a), abs(b)):
                    return False
            elif a != b:
                return False
    return True


def test_the_leak_check_itself_catches_unmasked_personal_data(target) -> None:
    """Guards the test above: with an empty policy, values no detector knows (addresses, dates) come through."""
    bare = Policy(rules=(), refuse_pii_in_filters=False)
    result = run_query(target.engine, bare, "SELECT street_address, birth_date FROM customers", LIMITS)
    assert leaked(json.dumps(result.model_dump()), target.pii_values)


def test_value_detectors_redact_even_when_the_policy_misses_a_column(target) -> None:
    bare = Policy(rules=(), refuse_pii_in_filters=False)
    result = run_query(target.engine, bare, "SELECT email, ssn, phone, card_number FROM customers", LIMITS)
    assert result.redacted_values == 4 * result.row_count
    assert not leaked(json.dumps(result.model_dump()), target.pii_values)


ORACLES = [
    "SELECT id FROM customers ORDER BY ssn LIMIT 1",
    "SELECT email FROM customers ORDER BY 1",
    "SELECT id, email AS e FROM customers ORDER BY e LIMIT 5",
    "SELECT id, e FROM (SELECT id, email AS e FROM customers) s ORDER BY lower(e) LIMIT 5",
    "SELECT email AS e, count(*) FROM customers GROUP BY e",
    "SELECT count(*) FROM customers WHERE birth_date < '1970-01-01'",
]


def test_ordering_grouping_or_filtering_on_personal_data_is_refused(target) -> None:
    """Masked values can still leak through order or counts: these must be refused, not merely masked."""
    for sql in ORACLES:
        try:
            run_query(target.engine, Policy(), sql, LIMITS)
        except QueryRefused as exc:
            assert "personal data" in str(exc), sql
        else:
            raise AssertionError(f"ran: {sql}")


def test_schema_discovery_is_answered_with_personal_data_still_masked(target) -> None:
    failures = []
    # PostgreSQL shows constraints in information_schema only to roles that own the table or may write it: the
    # read-only role sees none (describe_table has them), its owner sees them.
    owner = open_engine(target.admin_url) if target.admin_url else target.engine
    for query in DISCOVERY:
        sql = variant(query, target.dialect)
        engine = owner if "constraint" in sql else target.engine
        try:
            result = run_query(engine, Policy(), sql, LIMITS)
        except (QueryRefused, EngineError) as exc:
            failures.append(f"{sql}\n  -> {exc}")
            continue
        text = json.dumps(result.model_dump())
        if "email" in sql:
            assert result.masked_columns == ["email (customers.email: mask)"], sql
        elif "view" not in sql and not any(t in text for t in ("customers", "orders", "products", "1")):
            failures.append(f"{sql}\n  -> nothing about the shop: {result.rows[:3]}")
        assert not leaked(text, target.pii_values), sql
    if owner is not target.engine:
        owner.close()
    assert not failures, "\n".join(failures)


def test_server_catalogs_roles_and_passwords_are_refused_naming_what_is_allowed(target) -> None:
    answered = []
    for sql in SERVER_CATALOGS:
        try:
            result = run_query(target.engine, Policy(), sql, LIMITS)
        except QueryRefused as exc:
            said = str(exc)
            assert any(hint in said for hint in ("information_schema", "owner columns", "not allowed")), said
        except EngineError:
            pass  # the other engine's catalog: no such table or function there
        else:
            answered.append(f"{sql} -> {result.rows[:2]}")
    assert not answered, "\n".join(answered)


def test_statements_as_models_write_them_are_answered_and_stacked_ones_refused(target) -> None:
    for sql in SEMICOLONS:
        assert run_query(target.engine, Policy(), sql, LIMITS).rows == [[100]], sql
        assert run_query(target.engine, Policy(), sql, LIMITS, explain=True).rows, sql
    for sql in STACKED:
        try:
            run_query(target.engine, Policy(), sql, LIMITS)
        except QueryRefused as exc:
            assert "only one statement per call; received 2" in str(exc), sql
        else:
            raise AssertionError(f"ran: {sql}")
