"""The gateway's cost, measured paired: what it adds to a call over a direct stdio connection to the same container,
through its stdio and its HTTP front, beside mcp-proxy (and FastMCP's proxy) when they are installed; its first
answer with 1 and 5 servers against a direct start; its memory with 1 and 5 servers, and the processes it runs.

Paired: every path is open at once, and each round calls every path once, in an order that rotates, so a busy
machine weighs on all paths alike; the added latency is the median (and 99th percentile) of each round's
difference against the direct call. Each path's process is also charged its CPU time per call (user and system,
which the load hardly moves) and its memory once it has served. The load (`uptime`) is recorded beside every figure.
Writes .bench/gateway.json.

Peers are looked for in their own environments (they need mcp<2): MCP_PROXY (default .bench/peers/mcp-proxy/bin/
mcp-proxy) and FASTMCP_PYTHON (default .bench/peers/fastmcp/bin/python). The gateway over N servers (the 1- and
5-server figures, and HTTP with 5 against `kit gateway --http analyst` with one) is bench/gateway_serve.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from kit.containers.launch import docker_client_env, launch_entries
from kit.image.builder import build_servers, raise_for_failures
from kit.project.servers import discover, select
from kit.project.settings import Settings, load_settings
from kit.reporting import SilentReporter

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / ".bench"
PROJECT = Path(os.environ.get("BENCH_PROJECT_DIR", REPO))
SERVE = (
    Path(__file__).resolve().parent / "gateway_serve.py"
)  # the gateway over N servers, as kit gateway serves
CALLS = int(os.environ.get("BENCH_CALLS", "300"))
STARTS = int(os.environ.get("BENCH_STARTS", "5"))
MCP_PROXY = Path(os.environ.get("MCP_PROXY", OUT / "peers" / "mcp-proxy" / "bin" / "mcp-proxy"))
FASTMCP_PYTHON = Path(os.environ.get("FASTMCP_PYTHON", OUT / "peers" / "fastmcp" / "bin" / "python"))
# The servers' own rate limits and budgets would measure refusals, not calls.
UNLIMITED = {"MCP_RATE_LIMITS": "*=1000000/min:1000000", "MCP_SESSION_BUDGET": "100000000"}
LABELS = {"io.mcpkit.bench-run": f"gateway-{os.getpid()}"}
QUERY = {"query": "SELECT count(*) FROM products"}
MAIL = {"to": "a@example.com", "subject": "bench", "body": "b"}
DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the run
FASTMCP_PROXY = """
import json, sys
from fastmcp.server import create_proxy
create_proxy({"mcpServers": {"analyst": json.loads(sys.argv[1])}}).run(show_banner=False)
"""


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))], 3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environ(**extra: str) -> dict[str, str]:
    return {**docker_client_env(), **UNLIMITED, "KIT_PROJECT_DIR": str(PROJECT),
            "KIT_LABELS": ",".join(f"{k}={v}" for k, v in LABELS.items()), **extra}  # fmt: skip


def kit(*args: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=str(Path(sys.executable).parent / "kit"), args=list(args), env=environ()
    )


def stdio(params: StdioServerParameters) -> Client:
    return Client(stdio_client(params, errlog=DEVNULL), mode="legacy")


@contextlib.asynccontextmanager
async def http_front(command: list[str], port: int, env: dict[str, str]) -> AsyncIterator[Client]:
    """A process serving streamable HTTP on `port`, and a client connected to it once it listens."""
    process = await anyio.open_process(command, env={**os.environ, **env}, stdout=DEVNULL, stderr=DEVNULL)
    try:
        with anyio.fail_after(120):
            while True:
                with contextlib.suppress(OSError):
                    await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                    break
                await anyio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp", mode="legacy") as client:
            yield client
    finally:
        process.terminate()
        with anyio.move_on_after(10):
            await process.wait()


# -- added latency, paired -------------------------------------------------------------------------------------


async def paired(settings: Settings) -> dict[str, Any]:
    (analyst,) = select(discover(settings), ["analyst"])
    (entry,) = launch_entries(settings, [analyst], UNLIMITED, extra_labels=LABELS)
    port = free_port()
    http = [str(Path(sys.executable).parent / "kit"), "gateway", "--http", "--port", str(port), "analyst"]
    paths: dict[str, Callable[[], Any]] = {
        "direct_stdio": lambda: stdio(entry.stdio_params()),
        "gateway_stdio": lambda: stdio(kit("gateway", "analyst")),
        "gateway_http": lambda: http_front(http, port, environ()),
    }
    port_5 = free_port()
    paths["gateway_http_5"] = lambda: http_front(
        [sys.executable, str(SERVE), "serve-http", str(port_5), "5"], port_5, environ()
    )
    if MCP_PROXY.exists():
        proxy_port = free_port()
        command = [str(MCP_PROXY), "--port", str(proxy_port), "--pass-environment", "--", entry.command]
        command += entry.args
        paths["mcp_proxy_http"] = lambda: http_front(command, proxy_port, environ())
    if FASTMCP_PYTHON.exists():
        spec = json.dumps({"command": entry.command, "args": entry.args, "env": environ()})
        fastmcp = StdioServerParameters(
            command=str(FASTMCP_PYTHON), args=["-c", FASTMCP_PROXY, spec], env=environ()
        )
        paths["fastmcp_proxy_stdio"] = lambda: stdio(fastmcp)
    samples: dict[str, list[float]] = {name: [] for name in paths}
    before = load()
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name, open_ in paths.items():
            client = await stack.enter_async_context(open_())
            tools = [t.name for t in (await client.list_tools()).tools]
            clients[name] = (client, next(t for t in tools if t.endswith("run_sql")))  # each names it its way
        names = list(clients)
        cpu_before: dict[str, float] = {}
        for round_ in range(10 + CALLS):
            if round_ == 10:
                cpu_before = {name: cpu_ms(found["pid"]) for name, found in memory_by_path().items()}
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                client, tool = clients[name]
                started = time.perf_counter()
                result = await client.call_tool(tool, QUERY)
                elapsed = (time.perf_counter() - started) * 1000
                if result.is_error:
                    raise RuntimeError(f"{name}: {result.content}")
                if round_ >= 10:  # warm-up rounds left out
                    samples[name].append(elapsed)
        # After the calls: what a path holds once it has served (lazy imports, caches).
        memory = memory_by_path()
        cpu = {name: round((cpu_ms(m["pid"]) - cpu_before[name]) / CALLS, 3) for name, m in memory.items()}
    figures: dict[str, Any] = {"calls": CALLS, "load_before": before, "load_after": load(), "memory": memory,
                               "cpu_ms_per_call": cpu}  # fmt: skip
    direct = samples["direct_stdio"]
    for name, values in samples.items():
        figures[name] = {"p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99)}
        if name != "direct_stdio":
            added = [a - b for a, b in zip(values, direct, strict=True)]
            figures[name] |= {"added_p50_ms": percentile(added, 50), "added_p99_ms": percentile(added, 99)}
    return figures


# -- first answer and memory -----------------------------------------------------------------------------------


def children_of(pid: int) -> list[tuple[int, str]]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            text = stat.read_text()
            if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
                found.append((int(stat.parent.name), text[text.index("(") + 1 : text.rindex(")")]))
    return found


def memory_by_path() -> dict[str, dict[str, Any]]:
    """Each open path's process (a child of this one, told by its command line): its RSS, and its children's."""
    found: dict[str, dict[str, Any]] = {}
    for pid, _ in children_of(os.getpid()):
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            kind = (
                "direct_stdio" if argv[0].endswith("docker")
                else "mcp_proxy_http" if any(a.endswith("mcp-proxy") for a in argv[:2])
                else "fastmcp_proxy_stdio" if "create_proxy" in " ".join(argv)
                else "gateway_http_5" if "serve-http" in argv
                else "gateway_http" if "--http" in argv
                else "gateway_stdio" if "gateway" in argv
                else None
            )  # fmt: skip
            if kind:
                kids = children_of(pid)
                found[kind] = {"pid": pid, "rss_mib": rss_mib(pid), "children": sorted(name for _, name in kids),
                               "children_rss_mib": round(sum(rss_mib(k) for k, _ in kids), 1)}  # fmt: skip
    return found


def cpu_ms(pid: int) -> float:
    """CPU time (user and system) a path's process and its children (a `docker` client) have used so far: with
    calls counted, a cost the load hardly moves."""
    total = 0.0
    for each in [pid, *(kid for kid, _ in children_of(pid))]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    return total


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def first_answer(params: StdioServerParameters, tool: str, servers: int) -> dict[str, Any]:
    """Spawn to the handshake's answer and to tools/list's; then, once every server runs and has been called,
    the RSS of the process spawned and of its children (and their names)."""
    started = time.perf_counter()
    async with stdio(params) as client:
        handshake = time.perf_counter() - started
        listed = len((await client.list_tools()).tools)
        listing = time.perf_counter() - started
        own = [pid for pid, _ in children_of(os.getpid())]
        for i in range(servers):
            await client.send_ping() if tool == "ping" else await client.call_tool(tool.format(i=i), MAIL)
        pid = max(own)  # the one just spawned
        kids = children_of(pid)
        figures = {"handshake_s": round(handshake, 3), "tools_list_s": round(listing, 3), "tools": listed,
                   "rss_mib": rss_mib(pid), "children": sorted({name for _, name in kids}),
                   "children_rss_mib": round(sum(rss_mib(k) for k, _ in kids), 1)}  # fmt: skip
    return figures


async def starts(settings: Settings) -> dict[str, Any]:
    (mailer,) = select(discover(settings), ["mailer"])
    (entry,) = launch_entries(settings, [mailer], extra_labels=LABELS)
    runs: dict[str, list[dict[str, Any]]] = {"direct": [], "gateway_1": [], "gateway_5": []}
    before = load()
    for _ in range(STARTS):  # interleaved, so each sees the same machine
        runs["direct"].append(await first_answer(entry.stdio_params(), "ping", 0))
        for count in (1, 5):
            params = StdioServerParameters(
                command=sys.executable, args=[str(SERVE), "serve", str(count)], env=environ()
            )
            runs[f"gateway_{count}"].append(await first_answer(params, "m{i}__send_email", count))
    figures: dict[str, Any] = {"starts": STARTS, "load_before": before, "load_after": load()}
    for name, samples in runs.items():
        figures[name] = {key: sorted(s[key] for s in samples)[len(samples) // 2] for key in ("handshake_s", "tools_list_s", "rss_mib", "children_rss_mib")}  # fmt: skip
        figures[name]["children"] = sorted({c for s in samples for c in s["children"]})
    return figures


async def bench(settings: Settings) -> dict[str, Any]:
    return {"first_answer_and_memory": await starts(settings), "added_latency": await paired(settings)}


def main() -> None:
    settings = load_settings(cwd=PROJECT)
    servers = select(discover(settings), ["analyst", "mailer"])
    raise_for_failures(build_servers(settings, servers, SilentReporter()))
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    results = anyio.run(bench, settings)
    targets = {"added_p50_ms_stdio": 1.0, "added_p50_ms_http": 3.0, "gateway_rss_mib": 60.0,
               "first_answer_5_servers_over_direct_s": 0.2}  # fmt: skip
    document = {"uptime_at_start": uptime, "cpus": os.cpu_count(), "results": results, "targets": targets}
    OUT.mkdir(exist_ok=True)
    (OUT / "gateway.json").write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
