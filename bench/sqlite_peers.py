"""The analyst beside the reference SQLite server (`mcp-server-sqlite`, on the 1.x SDK), natively, on the same
database and the same legitimate queries, in one run: rounds interleaved (analyst, reference, reference, analyst,
...) so that what the shared machine does meanwhile falls on both; each round a fresh process whose first answer
(spawn to the first call's result) is timed, then every query answered a few times through the official SDK client.

The reference server is not a dependency of this project: it is looked for in MCPKIT_REFERENCE_SQLITE (a path to its
`mcp-server-sqlite`) or /tmp/refvenv, where `python -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install
mcp-server-sqlite==2025.4.25 "mcp<2"` puts it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REFERENCE = Path(os.environ.get("MCPKIT_REFERENCE_SQLITE", "/tmp/refvenv/bin/mcp-server-sqlite"))
UNLIMITED = {"MCP_RATE_LIMITS": "*=1000000/min:1000000", "MCP_SESSION_BUDGET": "100000000"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _contestants(
    database: Path, folder: Path, others: dict[str, tuple[Any, str]]
) -> dict[str, tuple[Any, str]]:
    from mcp.client.stdio import StdioServerParameters

    copy = folder / "reference.db"  # the reference opens its file read-write: it gets its own copy
    shutil.copy(database, copy)
    analyst = StdioServerParameters(
        command=sys.executable,
        args=["-m", "analyst"],
        env={"ANALYST_DATABASE_URL": f"sqlite:///{database}", **UNLIMITED},
    )
    reference = StdioServerParameters(command=str(REFERENCE), args=["--db-path", str(copy)])
    return {"analyst": (analyst, "run_sql"), "reference": (reference, "read_query"), **others}


def _children_cpu_seconds() -> dict[int, float]:
    """CPU time (user + system) of each child process of this one, from /proc: a natively started server's own cost,
    whatever else the machine runs meanwhile."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(pid)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def side_by_side(
    database: Path,
    queries: list[str],
    rounds: int = 6,
    passes: int = 3,
    others: dict[str, tuple[Any, str]] | None = None,
) -> dict[str, Any]:
    """Per contestant: p50/p99 of every call, each round's p50 (median and spread), first answers. `others`: more
    contestants by name, their launch parameters and tool (the analyst image, with its own copy of the demo
    database baked in)."""
    import anyio
    from mcp import Client
    from mcp.client.stdio import stdio_client

    if not REFERENCE.exists():
        return {"skipped": f"no reference server at {REFERENCE} (see bench/sqlite_peers.py)"}
    selects = [q for q in queries if q.lstrip().upper().startswith("SELECT")]  # all the reference accepts
    folder = database.parent
    contestants = _contestants(database, folder, others or {})
    calls: dict[str, list[float]] = {name: [] for name in contestants}
    round_p50: dict[str, list[float]] = {name: [] for name in contestants}
    first: dict[str, list[float]] = {name: [] for name in contestants}
    first_cpu: dict[str, list[float]] = {
        name: [] for name in contestants
    }  # the server's own, to its first answer
    cpu: dict[str, dict[str, list[float]]] = {name: {"server": [], "client": []} for name in contestants}
    load: list[float] = []

    async def one_round(name: str) -> None:
        params, tool = contestants[name]
        samples: list[float] = []
        with open(os.devnull, "w") as devnull:
            earlier = _children_cpu_seconds()
            started = time.perf_counter()
            async with Client(stdio_client(params, errlog=devnull), mode="legacy") as client:
                answer = await client.call_tool(tool, {"query": selects[0]})
                first[name].append(time.perf_counter() - started)
                spawned = {p: s for p, s in _children_cpu_seconds().items() if p not in earlier}
                first_cpu[name].append(sum(spawned.values()))
                assert not answer.is_error, answer
                server_before, client_before = _children_cpu_seconds(), time.process_time()
                for _ in range(passes):
                    for sql in selects:
                        began = time.perf_counter()
                        answer = await client.call_tool(tool, {"query": sql})
                        samples.append((time.perf_counter() - began) * 1000)
                        assert not answer.is_error, (name, sql, answer)
                client_cpu = time.process_time() - client_before
                server_after = _children_cpu_seconds()
                server_cpu = sum(
                    server_after[p] - server_before[p] for p in server_after if p in server_before
                )
                cpu[name]["server"].append(server_cpu * 1000 / len(samples))
                cpu[name]["client"].append(client_cpu * 1000 / len(samples))
        calls[name] += samples
        round_p50[name].append(statistics.median(samples))

    names, order = list(contestants), []
    for number in range(rounds):  # each round in another order: none always runs first, or last
        turn = names[number % len(names) :] + names[: number % len(names)]
        order += turn if number % 2 == 0 else turn[::-1]
    for name in order:
        load.append(os.getloadavg()[0])
        anyio.run(one_round, name)

    def spread(values: list[float], scale: float = 1.0, digits: int = 2) -> dict[str, float]:
        return {
            "median": round(statistics.median(values) * scale, digits),
            "min": round(min(values) * scale, digits),
            "max": round(max(values) * scale, digits),
        }

    return {
        name: {
            "p50_ms": round(percentile(calls[name], 50), 3),
            "p99_ms": round(percentile(calls[name], 99), 3),
            "round_p50_ms": spread(round_p50[name], digits=3),
            "first_answer_s": spread(first[name], digits=3),
            "first_answer_cpu_s": spread(first_cpu[name], digits=3),
            # natively the server's own process; for a container, the docker client's, not the server's
            "server_cpu_ms_per_call": spread(cpu[name]["server"], digits=3),
            "client_cpu_ms_per_call": spread(cpu[name]["client"], digits=3),
            "calls": len(calls[name]),
        }
        for name in contestants
    } | {
        "order": order,
        "queries": len(selects),
        "rounds": rounds,
        "load_average_1m": spread(load),
        "cpus": os.cpu_count(),
    }


def print_side_by_side(console: Any, figures: dict[str, Any]) -> None:
    from rich.table import Table

    if "skipped" in figures:
        console.print(f"[yellow]reference server: {figures['skipped']}[/]")
        return
    table = Table(
        "server", "p50 ms", "p99 ms", "round p50s: median \\[min-max] ms", "first answer: median \\[min-max] s",
        "server CPU to first answer s", "server CPU ms/call", "client CPU ms/call",
        title=f"SQLite, natively, side by side: {figures['queries']} queries x {figures['rounds']} rounds",
    )  # fmt: skip
    describe: Callable[[dict[str, float]], str] = lambda s: f"{s['median']} [{s['min']}-{s['max']}]"  # noqa: E731
    for name, row in figures.items():
        if not isinstance(row, dict) or "p50_ms" not in row:
            continue
        table.add_row(
            name, f"{row['p50_ms']:.3f}", f"{row['p99_ms']:.3f}", describe(row["round_p50_ms"]),
            describe(row["first_answer_s"]), describe(row["first_answer_cpu_s"]),
            describe(row["server_cpu_ms_per_call"]),
            describe(row["client_cpu_ms_per_call"]),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"load average (1 min) at each round's start: {describe(figures['load_average_1m'])} on {figures['cpus']} "
        "CPUs; first answer = spawn to the first call's result (legacy handshake); server CPU = the server's own "
        "process natively (its start, imports and first call included for the first answer), the docker client's for a "
        "container",
        markup=False,
    )
