"""Analyst benchmarks: the safety layer's own cost per query, and run_sql latency, on SQLite and PostgreSQL.

Prints a table and writes .bench/analyst.json. PostgreSQL runs when a Docker engine is reachable (its image is
built from Debian packages on first use, as the test suite does).
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from analyst import guard, lineage
from analyst.demo_data import create_demo_database, load_postgres
from analyst.engines import Engine, EngineError, open_engine
from analyst.guard import QueryRefused
from analyst.pii import Policy
from analyst.runner import Limits, _collect, run_query

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "servers" / "analyst" / "tests"))
from call_breakdown import in_container, in_subprocess, print_breakdown
from corpus import (
    ADVERSARIAL,
    DISCOVERY,
    FIRST_STATEMENT_HANGS,
    LEGITIMATE,
    PII_ATTEMPTS,
    SEMICOLONS,
    SERVER_CATALOGS,
    STACKED,
    leaked,
    variant,
)
from sqlite_peers import UNLIMITED, print_side_by_side, side_by_side
from stdio_relay import relay

REPEATS = 15
BREAKDOWN_CALLS = 400
LIMITS = Limits(row_limit=100, timeout_seconds=30)
console = Console()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


_analysis_seconds: list[float] = []


def _timed(function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _analysis_seconds.append(time.perf_counter() - started)

    return wrapper


def measure(engine: Engine, dialect: str) -> dict[str, Any]:
    """PostgreSQL's plan analysis (its lineage) runs inside the engine call; it is timed and counted as lineage."""
    if dialect == "postgresql":
        from analyst.engines import postgres

        postgres.analyse_plan = _timed(postgres.analyse_plan)
    policy = Policy()
    queries = [
        variant(q, dialect) for q in LEGITIMATE if not variant(q, dialect).upper().startswith("EXPLAIN")
    ]
    per_query: dict[str, list[float]] = {
        "guard": [],
        "lineage_and_masking": [],
        "safety_layer": [],
        "run_sql": [],
    }
    for sql in queries:
        samples: dict[str, list[float]] = {key: [] for key in per_query}
        for _ in range(REPEATS):
            started = time.perf_counter()
            checked = guard._check.__wrapped__(sql)  # uncached: the first time a query is seen
            guarded = time.perf_counter()
            _analysis_seconds.clear()
            with engine.execute(checked, LIMITS) as execution:
                rows = list(itertools.islice(execution.rows(), LIMITS.row_limit + 1))
                planned_at = time.perf_counter()
                plan = lineage.plan(
                    execution.lineage,
                    policy,
                    execution.columns,
                    checked.ordinal_sort_refs,
                    checked.sort_names,
                )
                _collect(execution.columns, iter(rows), plan, policy, LIMITS)
                masked_at = time.perf_counter()
            samples["guard"].append(guarded - started)
            analysis = sum(_analysis_seconds)
            samples["lineage_and_masking"].append(masked_at - planned_at + analysis)
            samples["safety_layer"].append((guarded - started) + (masked_at - planned_at) + analysis)
            started = time.perf_counter()
            run_query(engine, policy, sql, LIMITS)
            samples["run_sql"].append(time.perf_counter() - started)
        for key, values in samples.items():
            per_query[key].append(statistics.median(values) * 1000)
    return {
        key: {
            "p50_ms": round(percentile(v, 50), 3),
            "p99_ms": round(percentile(v, 99), 3),
            "max_ms": round(max(v), 3),
        }
        for key, v in per_query.items()
    } | {"queries": len(queries), "repeats": REPEATS}


WALL_COLUMNS = (
    "hostile", "refused", "stopped", "ran_harmless", "hung_past_limit_plus_2s", "slowest_hostile_s", "legitimate",
    "answered", "personal_values_leaked",
)  # fmt: skip
WALL_LIMITS = Limits(row_limit=100, timeout_seconds=2.0)
PII_COLUMNS = "email, phone, ssn, birth_date, street_address, postal_code, card_number"


def walls(url: str, dialect: str, pii_values: set[str]) -> dict[str, Any]:
    """Issue 18's figures: every hostile statement sent as the first call of a fresh engine (where the limit used
    to be lost) must be refused or stopped within the limit + 2 s; legitimate and discovery queries answered;
    no personal value anywhere in a result or an error."""
    hostile = [variant(q, dialect) for q in ADVERSARIAL] + FIRST_STATEMENT_HANGS[dialect]
    hostile += SERVER_CATALOGS + STACKED
    outcomes: dict[str, int] = {"refused": 0, "stopped": 0, "ran_harmless": 0}
    hung, slowest = [], 0.0
    for sql in hostile:
        engine = open_engine(url, WALL_LIMITS.timeout_seconds)
        started = time.perf_counter()
        try:
            run_query(engine, Policy(), sql, WALL_LIMITS)
            outcomes["ran_harmless"] += 1
        except QueryRefused:
            outcomes["refused"] += 1
        except EngineError as exc:
            outcomes["stopped" if "longer than" in str(exc) else "refused"] += 1
        elapsed = time.perf_counter() - started
        engine.close()
        slowest = max(slowest, elapsed)
        if elapsed > WALL_LIMITS.timeout_seconds + 2:
            hung.append(sql)
    engine = open_engine(url, WALL_LIMITS.timeout_seconds)
    legitimate = [variant(q, dialect) for q in LEGITIMATE + DISCOVERY] + SEMICOLONS
    answered, leaks = 0, 0
    for sql in legitimate:
        try:
            result = run_query(engine, Policy(), sql, WALL_LIMITS)
            answered += 1
            leaks += len(leaked(json.dumps(result.model_dump()), pii_values))
        except (QueryRefused, EngineError) as exc:
            console.print(f"[red]not answered ({dialect}): {sql}: {exc}[/]")
    for query in PII_ATTEMPTS + SERVER_CATALOGS:
        try:
            text = json.dumps(run_query(engine, Policy(), variant(query, dialect), WALL_LIMITS).model_dump())
        except (QueryRefused, EngineError) as exc:
            text = str(exc)
        leaks += len(leaked(text, pii_values))
    engine.close()
    return {
        "hostile": len(hostile),
        **outcomes,
        "hung_past_limit_plus_2s": len(hung),
        "slowest_hostile_s": round(slowest, 2),
        "limit_s": WALL_LIMITS.timeout_seconds,
        "legitimate": len(legitimate),
        "answered": answered,
        "pii_attempts": len(PII_ATTEMPTS),
        "personal_values_leaked": leaks,
    }


def sqlite_pii(path: Path) -> set[str]:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        return {str(v) for row in connection.execute(f"SELECT {PII_COLUMNS} FROM customers") for v in row}
    finally:
        connection.close()


def postgres_pii(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(f"SELECT {PII_COLUMNS} FROM customers").fetchall()
    return {str(v) for row in rows for v in row}


CONTAINER_CALLS = 50
DISCOVER = {"sqlite": variant(DISCOVERY[0], "sqlite"), "postgresql": variant(DISCOVERY[0], "postgresql")}


def analyst_image() -> tuple[Any, Any] | None:
    """The analyst image built from this checkout (kit's settings and the server), or None if it does not build."""
    from kit.image.builder import build_servers
    from kit.project.servers import discover, select
    from kit.project.settings import load_settings
    from kit.reporting import SilentReporter

    settings = load_settings()
    (server,) = select(discover(settings), ["analyst"])
    (built,) = build_servers(settings, [server], SilentReporter())
    if not built.ok:
        console.print(f"[yellow]container figures skipped: {built.error}[/]")
        return None
    return settings, server


def image_params(env: dict[str, str]) -> Any | None:
    from kit.containers.launch import launch_entries

    image = analyst_image()
    if image is None:
        return None
    (entry,) = launch_entries(image[0], [image[1]], env)
    return entry.stdio_params()


def in_containers(postgres_container: Any | None) -> dict[str, Any]:
    """The analyst image as a client starts it: each first-statement hang as the first call of a fresh container
    (stopped at its 2 s limit, and the next call answered?), then the p50 of run_sql and of a discovery query."""
    import anyio
    from mcp import Client
    from mcp.client.stdio import stdio_client

    from kit.containers.launch import launch_entries

    image = analyst_image()
    if image is None:
        return {}
    settings, server = image
    unlimited = {"MCP_RATE_LIMITS": "*=1000000/min:1000000", "MCP_SESSION_BUDGET": "100000000"}
    env = {**unlimited, "ANALYST_STATEMENT_TIMEOUT": "2"}

    async def session(params: Any, dialect: str) -> dict[str, Any]:
        with open(os.devnull, "w") as devnull:  # the server's stderr: its log and audit lines
            return await measured(
                lambda: Client(stdio_client(params, errlog=devnull), mode="legacy"), dialect
            )

    async def measured(connect: Callable[[], Any], dialect: str) -> dict[str, Any]:
        firsts, answered = [], 0
        for hang in FIRST_STATEMENT_HANGS[dialect]:  # each the first call of a fresh container
            async with connect() as client:
                started = time.perf_counter()
                stopped = await client.call_tool("run_sql", {"query": hang})
                firsts.append(time.perf_counter() - started)
                following = await client.call_tool("run_sql", {"query": "SELECT count(*) FROM products;"})
                answered += (
                    stopped.is_error
                    and "longer than 2 s" in stopped.content[0].text
                    and not following.is_error
                )
        samples: dict[str, list[float]] = {"run_sql": [], "discovery": []}
        async with connect() as client:
            for _ in range(CONTAINER_CALLS):
                for key, sql in (
                    ("run_sql", "SELECT count(*) FROM products"),
                    ("discovery", DISCOVER[dialect]),
                ):
                    started = time.perf_counter()
                    await client.call_tool("run_sql", {"query": sql})
                    samples[key].append((time.perf_counter() - started) * 1000)
        return {
            "first_call_hangs": len(firsts),
            "stopped_and_next_answered": answered,
            "slowest_first_call_s": round(max(firsts), 2),
            **{f"{k}_p50_ms": round(statistics.median(v), 2) for k, v in samples.items()},
        }

    figures = {}
    (entry,) = launch_entries(settings, [server], env)
    figures["sqlite"] = anyio.run(session, entry.stdio_params(), "sqlite")
    if postgres_container is not None:
        with beside(postgres_container) as (url, network):
            (entry,) = launch_entries(
                settings, [server], {**env, "ANALYST_DATABASE_URL": url}, network=network
            )
            figures["postgresql"] = anyio.run(session, entry.stdio_params(), "postgresql")
    return figures


@contextmanager
def beside(postgres_container: Any) -> Iterator[tuple[str, str]]:
    """An internal network the PostgreSQL container joins as shop-db: its URL there, and the network's name."""
    import docker

    network = docker.from_env().networks.create(
        f"mcpkit-bench-{os.getpid()}", internal=True, labels={"io.mcpkit.test": "bench"}
    )
    try:
        network.connect(postgres_container.get_wrapped_container(), aliases=["shop-db"])
        yield "postgresql://bench:bench@shop-db:5432/shop", network.name
    finally:
        network.disconnect(postgres_container.get_wrapped_container(), force=True)
        network.remove()


IMAGE_DATABASE = "sqlite:////opt/mcp/data/demo.db"  # the demo database baked into the analyst's image


def breakdowns(sqlite_url: str, database: tuple[str, Any] | None) -> dict[str, Any]:
    """One run_sql call's stages: SQLite and PostgreSQL, natively and in the analyst's image."""
    from kit.containers.launch import launch_entries

    found: dict[str, Any] = {}
    queries = {d: [variant(q, d) for q in LEGITIMATE if not variant(q, d).upper().startswith("EXPLAIN")]
               for d in ("sqlite", "postgresql")}  # fmt: skip
    found["SQLite, natively"] = in_subprocess(sqlite_url, queries["sqlite"], BREAKDOWN_CALLS)
    image = analyst_image()
    if image is not None:
        (entry,) = launch_entries(image[0], [image[1]], UNLIMITED)
        found["SQLite, in the container"] = in_container(
            entry.stdio_params(), IMAGE_DATABASE, queries["sqlite"], BREAKDOWN_CALLS
        )
    if database is not None:
        url, container = database
        found["PostgreSQL, natively"] = in_subprocess(url, queries["postgresql"], BREAKDOWN_CALLS)
        if image is not None:
            with beside(container) as (inside, network):
                (entry,) = launch_entries(image[0], [image[1]], UNLIMITED, network=network)
                found["PostgreSQL, in the container"] = in_container(
                    entry.stdio_params(), inside, queries["postgresql"], BREAKDOWN_CALLS
                )
    return found


@contextmanager
def postgres() -> Iterator[tuple[str, Any] | None]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        from testcontainers.community.postgres import PostgresContainer
        from testcontainers.core.config import testcontainers_config

        from kit.errors import KitError
        from kit.image.base_image import ensure_recipe_image, load_recipe
        from kit.project.settings import load_settings
        from kit.reporting import SilentReporter

        ensure_recipe_image(load_settings(), load_recipe("postgres"), "mcpkit/postgres:15", SilentReporter())
    except (ImportError, KitError) as exc:
        console.print(f"[yellow]PostgreSQL skipped: {exc}[/]")
        yield None
        return
    testcontainers_config.ryuk_disabled = True
    container = PostgresContainer(
        "mcpkit/postgres:15", username="bench", password="bench", dbname="shop", driver=None
    )
    container.with_kwargs(labels={"io.mcpkit.test": "bench"})
    with container:
        url = container.get_connection_url()
        load_postgres(url)
        yield url, container


def main() -> None:
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as folder:
        path = create_demo_database(Path(folder) / "demo.db")
        engine = open_engine(f"sqlite:///{path}")
        results["sqlite"] = measure(engine, "sqlite")
        queries = [
            variant(q, "sqlite") for q in LEGITIMATE if not variant(q, "sqlite").upper().startswith("EXPLAIN")
        ]
        results["sqlite"]["walls"] = walls(f"sqlite:///{path}", "sqlite", sqlite_pii(path))
        container = image_params(UNLIMITED)
        others = {"analyst (container)": (container, "run_sql")} if container else {}
        results["sqlite"]["side_by_side"] = side_by_side(path, queries, others=others)
        results["stdio_relay"] = relay(container) if container else {}
        with postgres() as database:
            if database:
                url = database[0]
                engine = open_engine(url)
                results["postgresql"] = measure(engine, "postgresql")
                engine.close()
                results["postgresql"]["walls"] = walls(url, "postgresql", postgres_pii(url))
            results["call_breakdown"] = breakdowns(f"sqlite:///{path}", database)
            results["containers"] = in_containers(database[1] if database else None)
    table = Table(
        "database", "measure", "p50 ms", "p99 ms", "max ms", title="analyst: per query, legitimate corpus"
    )
    for dialect in ("sqlite", "postgresql"):
        for key in ("guard", "lineage_and_masking", "safety_layer", "run_sql"):
            if dialect in results:
                row = results[dialect][key]
                table.add_row(
                    dialect, key, f"{row['p50_ms']:.3f}", f"{row['p99_ms']:.3f}", f"{row['max_ms']:.3f}"
                )
    console.print(table)
    console.print(
        "safety_layer = guard (uncached) + lineage check + masking and detectors; run_sql = the whole call"
    )
    for where, figures in results["call_breakdown"].items():
        print_breakdown(console, figures, where)
    print_side_by_side(console, results["sqlite"]["side_by_side"])
    console.print(
        f"stdio relay (an echo server, natively and through docker run -i): {results['stdio_relay']}"
    )
    walls_table = Table(
        "database", *WALL_COLUMNS, title="analyst: walls (each hostile statement a first call)"
    )
    for dialect in ("sqlite", "postgresql"):
        if dialect in results:
            figures = results[dialect]["walls"]
            walls_table.add_row(dialect, *(str(figures[key]) for key in WALL_COLUMNS))
    console.print(walls_table)
    for dialect, figures in results.get("containers", {}).items():
        console.print(f"analyst image, {dialect}: {figures}")
    out = Path(".bench") / "analyst.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"saved {out}")


if __name__ == "__main__":
    main()
