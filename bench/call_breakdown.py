"""Where one run_sql call spends its time, from the request's bytes on stdin to the answer's bytes on stdout.

The real server (the analyst's create_server, the runtime's guarded stdio, the SDK) serves over two OS pipes in a
thread of this process; a client writes raw JSON-RPC lines and reads the answers. Every stage of the path is wrapped
with a timer (here only, by patching: the server carries no probes), each call's intervals are nested by time, and
each stage is charged its own time without what it calls. What no stage covers is the SDK's dispatch and the event
loop's scheduling.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Interval = tuple[str, float, float]
_intervals: list[Interval] = []
_window: list[float] = [0.0]  # when the client wrote the current request: blocking reads start no earlier


def _record(label: str, started: float, ended: float) -> None:
    _intervals.append((label, max(started, _window[0]), ended))


def _sync(label: str | Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _record(label() if callable(label) else label, started, time.perf_counter())

    return wrapper


def _async(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            _record(label, started, time.perf_counter())

    return wrapper


def _iterated(label: str, function: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Each step of a generator timed on its own (fetching a row, as opposed to what the caller does with it)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        iterator = iter(function(*args, **kwargs))
        while True:
            started = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                _record(label, started, time.perf_counter())
                return
            _record(label, started, time.perf_counter())
            yield item

    return wrapper


class _TimedContext:
    def __init__(self, inner: Any, enter: str, leave: str) -> None:
        self._inner, self._enter, self._leave = inner, enter, leave

    def __enter__(self) -> Any:
        started = time.perf_counter()
        try:
            return self._inner.__enter__()
        finally:
            _record(self._enter, started, time.perf_counter())

    def __exit__(self, *exc: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._inner.__exit__(*exc)
        finally:
            _record(self._leave, started, time.perf_counter())


def _patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    if hasattr(owner, name):  # a stage that an optimisation removed is simply absent from the table
        setattr(owner, name, make(getattr(owner, name)))


def _dump_label() -> str:
    caller = sys._getframe(2).f_code.co_filename
    if "mcpkit_runtime" in caller:
        return "runtime: result size (JSON dump)"
    if "analyst" in caller:
        return "serialise: structured result"
    return "SDK: response to JSON"


def _parse_label() -> str:
    caller = sys._getframe(2).f_code.co_filename
    return "framing: JSON-RPC shape check" if "mcpkit_runtime" in caller else "JSON-RPC parse (SDK)"


class _Adapter:
    """The SDK's JSON-RPC message adapter with its parse timed (the attribute is looked up at each call)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.validate_json = _sync(_parse_label, inner.validate_json)
        self.validate_python = _sync("framing: JSON-RPC shape check", inner.validate_python)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def instrument(server: Any) -> None:
    """Wrap every stage of the path (call once, before serving)."""
    import anyio.to_thread
    import mcp_types
    import pydantic
    from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata

    from analyst import guard, lineage, runner
    from analyst import server as analyst_server
    from analyst.engines import sqlite
    from analyst.engines.watchdog import Watchdog
    from mcpkit_runtime import audit, lenient, sdk, stdio
    from mcpkit_runtime import server as runtime_server

    _patch(anyio.to_thread, "run_sync", lambda f: _async("thread hops (to a worker and back)", f))
    _patch(stdio.GuardedStdio, "_read_line", lambda f: _sync("transport: stdin pipe and line read", f))
    _patch(stdio.GuardedStdio, "_write", lambda f: _sync("transport: stdout write", f))
    _patch(stdio.GuardedStdio, "write", lambda f: _async("transport: stdout write", f))
    _patch(stdio, "_refusal", lambda f: _sync("framing: JSON-RPC shape check", f))
    _patch(stdio, "_is_message", lambda f: _sync("framing: JSON-RPC shape check", f))
    mcp_types.jsonrpc_message_adapter = _Adapter(mcp_types.jsonrpc_message_adapter)  # type: ignore[assignment]
    _patch(runtime_server.Runtime, "_middleware", lambda f: _async("runtime: middleware", f))
    _patch(
        runtime_server.Runtime, "_tool_call", lambda f: _async("runtime: call wrapper (budget, limits)", f)
    )
    _patch(lenient, "normalize", lambda f: _sync("runtime: lenient parsing", f))
    _patch(sdk, "validate_arguments", lambda f: _sync("runtime: argument validation", f))
    _patch(audit.AuditLog, "record", lambda f: _sync("runtime: audit line", f))
    _patch(FuncMetadata, "validate_arguments", lambda f: _sync("SDK: argument validation", f))
    _patch(FuncMetadata, "convert_result", lambda f: _sync("SDK: result check against the output schema", f))
    _patch(pydantic.BaseModel, "model_dump_json", lambda f: _sync(_dump_label, f))
    _patch(guard, "check", lambda f: _sync("guard", f))
    _patch(sqlite.SqliteEngine, "_connect", lambda f: _sync("engine: open connection", f))
    _patch(sqlite.SqliteEngine, "_connection_for", lambda f: _sync("engine: open connection", f))
    _patch(Watchdog, "__enter__", lambda f: _sync("engine: watchdog start/stop", f))
    _patch(Watchdog, "__exit__", lambda f: _sync("engine: watchdog start/stop", f))
    original_execute = sqlite.SqliteEngine.execute
    sqlite.SqliteEngine.execute = lambda self, query, limits: _TimedContext(  # type: ignore[method-assign]
        original_execute(self, query, limits),
        "engine: prepare (plan, authorize, describe), run to the first row",
        "engine: finish statement",
    )
    _patch(sqlite._Execution, "rows", lambda f: _iterated("engine: fetch rows", f))
    _patch(lineage, "plan", lambda f: _sync("lineage check", f))
    _patch(runner, "_collect", lambda f: _sync("masking and detectors", f))
    _patch(runner.QueryResult, "model_dump", lambda f: _sync("serialise: structured result", f))
    _patch(analyst_server, "render_text", lambda f: _sync("serialise: text content", f))
    _instrument_postgres()
    tool = server._tool_manager.get_tool("run_sql")
    tool.fn = (_async if tool.is_async else _sync)("tool body (log line, result object)", tool.fn)


def _instrument_postgres() -> None:
    """PostgreSQL's stages: each a round trip to the database (or more), and the plan's analysis."""
    try:
        from analyst.engines import postgres
    except ImportError:  # no psycopg: SQLite only
        return
    engine = postgres.PostgresEngine
    original_transaction, original_execute = engine._transaction, engine.execute
    engine._transaction = lambda self, *a: _TimedContext(  # type: ignore[method-assign]
        original_transaction(self, *a),
        "engine: begin (lock, the call's timeouts: a round trip)",
        "engine: end (rollback: a round trip)",
    )
    engine.execute = lambda self, query, limits: _TimedContext(  # type: ignore[method-assign]
        original_execute(self, query, limits),
        "engine: prepare (plan, authorize, describe), run to the first row",
        "engine: finish statement",
    )
    _patch(engine, "_run", lambda f: _sync("engine: plan (EXPLAIN VERBOSE) and DECLARE: two round trips", f))
    _patch(engine, "_catalog_for", lambda f: _sync("engine: catalog (loaded once)", f))
    _patch(
        postgres, "_describe", lambda f: _sync("engine: describe (prepare, RowDescription: a round trip)", f)
    )
    _patch(postgres, "_plan_of", lambda f: _sync("engine: plan JSON parse", f))
    _patch(postgres, "refuse_system_use", lambda f: _sync("guard: plan check (system catalogs)", f))
    _patch(postgres, "analyse_plan", lambda f: _sync("lineage check", f))
    _patch(postgres._Execution, "rows", lambda f: _iterated("engine: fetch rows", f))


def self_times(intervals: list[Interval], started: float, ended: float) -> dict[str, float]:
    """Each interval's own time (its children removed), and the time no interval covers."""
    ordered = sorted(intervals, key=lambda i: (i[1], -i[2]))
    own: dict[str, float] = defaultdict(float)
    stack: list[Interval] = []
    covered = 0.0
    for interval in ordered:
        while stack and interval[1] >= stack[-1][2]:
            stack.pop()
        duration = interval[2] - interval[1]
        if stack:
            own[stack[-1][0]] -= duration
        else:
            covered += duration
        own[interval[0]] += duration
        stack.append(interval)
    own["SDK dispatch and event loop (not covered above)"] = (ended - started) - covered
    return own


@contextmanager
def served(database_url: str) -> Iterator[tuple[int, Any]]:
    """The analyst served over two pipes in a thread; yields (the client's write fd, its reader)."""
    import anyio

    from analyst import pii
    from analyst.config import AnalystSettings
    from analyst.engines import open_engine
    from analyst.server import DEFAULTS, create_server
    from mcpkit_runtime import logs, sdk
    from mcpkit_runtime.config import RuntimeConfig
    from mcpkit_runtime.limits import Rate
    from mcpkit_runtime.stdio import GuardedStdio

    devnull = open(os.devnull, "w")  # noqa: SIM115 - the server's stderr (logs and audit) while serving
    logs.configure()
    logging.getLogger().handlers[0].setStream(devnull)  # type: ignore[attr-defined]
    settings = AnalystSettings(database_url=database_url)
    engine = open_engine(database_url)
    config = RuntimeConfig(
        rate_limits={"*": Rate.parse("100000000/min:100000000")},
        costs=DEFAULTS.costs,
        session_budget=100_000_000,
    )
    server = create_server(engine, settings, pii.Policy(), config, one_client=True)  # as served over stdio
    instrument(server)
    client_in, server_in = os.pipe()[::-1]
    server_out, client_out = os.pipe()[::-1]
    stdio = GuardedStdio(os.fdopen(server_in, "rb"), os.fdopen(server_out, "wb"), 4 * 1024 * 1024)
    original = sys.stderr
    sys.stderr = devnull
    thread = threading.Thread(
        target=anyio.run, args=(sdk.serve_stdio_streams, sdk.lowlevel(server), stdio), daemon=True
    )
    thread.start()
    reader = os.fdopen(client_out, "rb")
    try:
        yield client_in, reader
    finally:
        sys.stderr = original
        os.close(client_in)
        thread.join(timeout=5)
        engine.close()


def breakdown(database_url: str, queries: list[str], calls: int) -> dict[str, Any]:
    """The median of each stage's own time over `calls` calls (the queries in turn), and of the whole call."""
    with served(database_url) as (write_fd, reader):

        def send(message: dict[str, Any]) -> dict[str, Any] | None:
            _window[0] = time.perf_counter()
            os.write(write_fd, (json.dumps(message) + "\n").encode())
            if "id" not in message:
                return None
            return json.loads(reader.readline())

        send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})  # fmt: skip
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        stages: dict[str, list[float]] = defaultdict(list)
        totals: list[float] = []
        cpu_started = 0.0
        for number in range(
            calls + len(queries)
        ):  # the first round warms the caches, as a session's first calls do
            sql = queries[number % len(queries)]
            _intervals.clear()
            started = time.perf_counter()
            answer = send({"jsonrpc": "2.0", "id": number + 1, "method": "tools/call",
                           "params": {"name": "run_sql", "arguments": {"query": sql}}})  # fmt: skip
            ended = time.perf_counter()
            assert answer is not None and not answer["result"].get("isError"), answer
            if number < len(queries):
                # the client's and the server's threads: what the machine paid
                cpu_started, throttled_before = time.process_time(), _throttling()
                continue
            intervals = [i for i in _intervals if started <= i[1] and i[2] <= ended]
            last_write = max((i[2] for i in intervals if i[0] == "transport: stdout write"), default=ended)
            intervals.append(("transport: stdout pipe to the client", last_write, ended))
            for label, seconds in self_times(intervals, started, ended).items():
                stages[label].append(seconds * 1000)
            totals.append((ended - started) * 1000)
        cpu_ms = (time.process_time() - cpu_started) * 1000 / calls
        throttled = {k: v - throttled_before.get(k, 0) for k, v in _throttling().items()}
    padded = {label: values + [0.0] * (len(totals) - len(values)) for label, values in stages.items()}
    return {
        "stages_ms": {label: round(statistics.median(values), 4) for label, values in padded.items()},
        "mean_ms": {label: round(statistics.fmean(values), 4) for label, values in padded.items()},
        "call_p50_ms": round(statistics.median(totals), 4),
        "call_mean_ms": round(statistics.fmean(totals), 4),
        "cpu_ms_per_call": round(cpu_ms, 4),
        # in a container held to a CPU quota: periods in which it was stopped, and for how long in all, per call
        "throttled_per_call": {k: round(v / calls, 4) for k, v in throttled.items()},
        "calls": len(totals),
    }


def _throttling() -> dict[str, float]:
    """The CPU quota's toll on this process's control group so far (cgroup v2 or v1), if it can be read."""
    for path in (
        "/sys/fs/cgroup/cpu.stat",
        "/sys/fs/cgroup/cpu/cpu.stat",
        "/sys/fs/cgroup/cpu,cpuacct/cpu.stat",
    ):
        try:
            fields = dict(line.split() for line in Path(path).read_text().splitlines())
        except (OSError, ValueError):
            continue
        if "throttled_usec" in fields:
            return {"periods": float(fields["nr_throttled"]), "ms": int(fields["throttled_usec"]) / 1000}
        if "throttled_time" in fields:
            return {"periods": float(fields["nr_throttled"]), "ms": int(fields["throttled_time"]) / 1e6}
    return {}


def print_breakdown(console: Any, figures: dict[str, Any], where: str) -> None:
    from rich.table import Table

    table = Table("stage", "p50 ms", "mean ms", title=f"analyst: one run_sql call, stdin to stdout ({where})")
    for label, p50 in sorted(figures["stages_ms"].items(), key=lambda item: -figures["mean_ms"][item[0]]):
        table.add_row(label, f"{p50:.3f}", f"{figures['mean_ms'][label]:.3f}")
    table.add_row("whole call", f"{figures['call_p50_ms']:.3f}", f"{figures['call_mean_ms']:.3f}")
    table.add_row("CPU time per call (server and client threads)", "", f"{figures['cpu_ms_per_call']:.3f}")
    throttled = figures.get("throttled_per_call") or {}
    if throttled.get("periods"):
        table.add_row("held by the CPU quota per call (all threads stopped)", "", f"{throttled['ms']:.3f}")
    console.print(table)
    console.print(
        "each stage's own time (what it calls removed); means add up to the whole call, medians need not"
    )


def in_container(params: Any, database_url: str, queries: list[str], calls: int) -> dict[str, Any]:
    """The breakdown inside the server's image, started with the walls its client entry gives it (`params`, the
    entry's docker command line): this same script as the image's Python program, the request on its stdin."""
    import subprocess

    args = list(params.args)
    image = args.pop()  # the entry's last argument: the image, run with its own command
    source = Path(__file__).read_text(encoding="utf-8")
    command = [params.command, *args, "--entrypoint", "python", image, "-c", source]
    request = json.dumps({"url": database_url, "queries": queries, "calls": calls})
    env = {**os.environ, **(params.env or {})}
    out = subprocess.run(command, input=request, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the breakdown in the container failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def in_subprocess(database_url: str, queries: list[str], calls: int) -> dict[str, Any]:
    """The breakdown in a fresh interpreter: its timers patch the server's code, which nothing else measured in the
    calling process must run through."""
    import subprocess

    request = json.dumps({"url": database_url, "queries": queries, "calls": calls})
    out = subprocess.run(
        [sys.executable, __file__], input=request, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


if __name__ == "__main__":
    asked = json.loads(sys.stdin.read())
    figures = breakdown(asked["url"], asked["queries"], asked["calls"])
    sys.__stdout__.write(json.dumps(figures))  # type: ignore[union-attr]
