"""Every call is bounded whatever ran before it: the first call of a session, the first after the catalog loads, after
a reconnect, after a call that was stopped. A hostile statement is stopped and the next call of the same session is
answered.

The bound asserted (limit + 2 s) tells a stopped statement from one left running: these statements run for hours.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import nullcontext

import pytest
from corpus import FIRST_STATEMENT_HANGS

from analyst.engines import Engine, EngineError, Limits, open_engine
from analyst.pii import Policy
from analyst.runner import run_query

LIMITS = Limits(timeout_seconds=1.0)
HANGS = FIRST_STATEMENT_HANGS


@pytest.fixture
def fresh(target) -> Iterator[Engine]:
    """A new engine: nothing has run on it, its catalog is not loaded, it has no connection yet."""
    engine = open_engine(target.url)
    yield engine
    engine.close()


# A hang, not a speed: a stopped call takes its limit plus the stop (figures in make bench); an unbounded one takes
# far longer. The margin keeps a loaded machine from reading as a hang.
HANG_MARGIN = 20


def assert_stopped(engine: Engine, sql: str) -> None:
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"ran longer than 1 s and was stopped"):
        run_query(engine, Policy(), sql, LIMITS)
    assert time.monotonic() - started < LIMITS.timeout_seconds + HANG_MARGIN, f"not stopped: {sql}"


def assert_answered(engine: Engine) -> None:
    result = run_query(engine, Policy(), "SELECT count(*) AS n FROM products", LIMITS)
    assert result.rows == [[100]]


def test_a_hostile_first_call_is_stopped_and_the_next_call_answered(target) -> None:
    for sql in HANGS[target.dialect]:
        engine = open_engine(target.url)
        try:
            assert_stopped(engine, sql)
            assert_answered(engine)
        finally:
            engine.close()
    if target.admin_url:
        assert _running_analyst_queries(target.admin_url) == [], (
            "a stopped statement still runs on the server"
        )


def test_the_first_call_after_the_catalog_loads_is_bounded(target, fresh: Engine) -> None:
    assert "customers" in fresh.tables()  # loads the catalog (PostgreSQL), in a transaction of its own
    assert_stopped(fresh, HANGS[target.dialect][0])
    assert_answered(fresh)


def test_a_call_after_a_stopped_one_is_bounded_and_answered(target, fresh: Engine) -> None:
    assert_stopped(fresh, HANGS[target.dialect][0])
    assert_stopped(fresh, HANGS[target.dialect][-1])
    assert_answered(fresh)
    assert_answered(fresh)


@pytest.mark.parametrize("target", [pytest.param("postgresql", marks=pytest.mark.docker)], indirect=True)
def test_the_first_call_after_a_reconnect_is_bounded(target, fresh: Engine) -> None:
    import psycopg

    assert_answered(fresh)
    backend = fresh._connection.info.backend_pid  # type: ignore[attr-defined]  # the engine's own session
    with psycopg.connect(target.admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with pytest.raises(EngineError, match="connection failed"):
        assert_answered(fresh)
    assert_stopped(fresh, HANGS[target.dialect][0])
    assert fresh._connection.info.backend_pid != backend  # type: ignore[attr-defined]
    assert_answered(fresh)


@pytest.mark.parametrize("target", [pytest.param("postgresql", marks=pytest.mark.docker)], indirect=True)
def test_the_database_itself_bounds_the_first_call_without_the_watchdog(
    target, fresh: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analyst.engines import postgres

    monkeypatch.setattr(postgres, "Watchdog", lambda *_: nullcontext())
    assert_stopped(fresh, HANGS[target.dialect][0])
    assert_answered(fresh)


@pytest.mark.parametrize("target", [pytest.param("postgresql", marks=pytest.mark.docker)], indirect=True)
def test_the_watchdog_alone_cancels_a_statement_the_database_does_not_bound(target) -> None:
    import psycopg

    from analyst.engines.postgres import _cancel
    from analyst.engines.watchdog import Watchdog

    with psycopg.connect(target.admin_url, options="-c statement_timeout=0") as connection:
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled), Watchdog(lambda: _cancel(connection), 1.0) as dog:
            connection.execute("SELECT count(*) FROM generate_series(1, 1e12::bigint)")
        assert dog.fired and time.monotonic() - started < 1 + HANG_MARGIN


@pytest.mark.parametrize("target", [pytest.param("postgresql", marks=pytest.mark.docker)], indirect=True)
def test_a_first_call_waiting_for_a_lock_is_stopped(target, fresh: Engine) -> None:
    import psycopg

    with psycopg.connect(target.admin_url) as holder:
        holder.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(EngineError, match="longer than 1 s"):
            run_query(fresh, Policy(), "SELECT count(*) FROM products", LIMITS)
        assert time.monotonic() - started < LIMITS.timeout_seconds + HANG_MARGIN
        holder.rollback()
    assert_answered(fresh)


def _running_analyst_queries(admin_url: str) -> list[str]:
    import psycopg

    with psycopg.connect(admin_url) as connection:
        rows = connection.execute(
            "SELECT query FROM pg_stat_activity WHERE application_name = 'mcpkit-analyst' AND state = 'active'"
        ).fetchall()
    return [row[0] for row in rows]
