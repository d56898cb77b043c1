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
from analyst.engines import Engine, open_engine
from analyst.pii import Policy
from analyst.runner import Limits, _collect, run_query

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "servers" / "analyst" / "tests"))
from corpus import LEGITIMATE, variant

REPEATS = 15
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


@contextmanager
def postgres() -> Iterator[str | None]:
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
        yield url


def main() -> None:
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{create_demo_database(Path(folder) / 'demo.db')}")
        results["sqlite"] = measure(engine, "sqlite")
    with postgres() as url:
        if url:
            engine = open_engine(url)
            results["postgresql"] = measure(engine, "postgresql")
            engine.close()
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
    out = Path(".bench") / "analyst.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"saved {out}")


if __name__ == "__main__":
    main()
