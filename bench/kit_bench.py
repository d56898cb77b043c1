"""The kit's own costs against their floors, for the analyst and the mailer: time to first response, call round
trip, image size, build times, idle memory. Every figure is a median over repeated runs with its spread (min-max);
every comparison is a ratio taken in this run. Prints a table, writes .bench/kit.json and .bench/kit.png.

Run after `make setup` (`make bench` does): it builds what it needs, in a temporary copy of the servers for the
build timings, and removes its own images afterwards. `python bench/kit_bench.py cli` measures only the command
line's start-up (no Docker needed) and writes .bench/kit-cli.json.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import docker
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from rich.console import Console
from rich.table import Table

from kit import __version__
from kit.containers import engine
from kit.containers.launch import launch_entries
from kit.identity import image_tag
from kit.image.base_image import ensure_base_image, is_kit_base
from kit.image.builder import build_servers, raise_for_failures
from kit.image.dockerfile import stage_key
from kit.project.servers import Server, discover, select
from kit.project.settings import Settings, load_settings
from kit.reporting import SilentReporter
from mcpkit_runtime.gateway.downstream import Downstream
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.settings import GatewaySettings

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / ".bench"
STARTS = int(os.environ.get("BENCH_STARTS", "7"))
CALLS = int(os.environ.get("BENCH_CALLS", "200"))
console = Console()
DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the run
# ping is the bare round trip; the SDK keeps it for the handshake era these sessions use
warnings.filterwarnings("ignore", message="ping is removed")
Figure = dict[str, Any]


def figure(samples: list[float], unit: str) -> Figure:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
        "unit": unit,
    }


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


# -- starting and calling -------------------------------------------------------------------------------------------


# On the containers this run starts, so it measures only its own (a developer's servers share the engine).
RUN_LABEL = {"io.mcpkit.bench-run": uuid.uuid4().hex[:12]}
# This run's images, apart from another run's (or anyone's) on the same engine: only these are removed at the end.
IMAGE_PREFIX = f"mcpkit-bench-{RUN_LABEL['io.mcpkit.bench-run']}"
# The servers' own rate limits and budgets would measure refusals, not calls.
UNLIMITED = {"MCP_RATE_LIMITS": "*=1000000/min:1000000", "MCP_SESSION_BUDGET": "100000000"}


def native_params(server: Server) -> StdioServerParameters:
    env = {**UNLIMITED, "MAILER_OUTBOX": str(Path(tempfile.gettempdir()) / "mcpkit-bench-outbox")}
    return StdioServerParameters(command=sys.executable, args=["-m", str(server.declaration.module)], env=env)


def container_params(settings: Settings, server: Server) -> StdioServerParameters:
    (entry,) = launch_entries(settings, [server], UNLIMITED, extra_labels=RUN_LABEL)
    return entry.stdio_params()


def connect(params: StdioServerParameters) -> Client:
    """The SDK client over stdio, the server's stderr (its audit lines) discarded."""
    return Client(stdio_client(params, errlog=DEVNULL), mode="legacy")


async def _first_response(params: StdioServerParameters) -> float:
    """Spawn to the answer of `initialize`: what a client waits for when it opens."""
    started = time.perf_counter()
    async with connect(params):
        return time.perf_counter() - started


def first_response(params: StdioServerParameters) -> float:
    return anyio.run(_first_response, params)


async def _round_trips(params: StdioServerParameters, call: Callable[[Client], Any]) -> list[float]:
    samples = []
    async with connect(params) as client:
        for _ in range(10):  # warm-up
            await call(client)
        for _ in range(CALLS):
            started = time.perf_counter()
            await call(client)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def round_trips(params: StdioServerParameters, call: Callable[[Client], Any]) -> list[float]:
    return anyio.run(_round_trips, params, call)


CALLS_BY_SERVER: dict[str, Callable[[Client], Any]] = {
    "analyst": lambda c: c.call_tool("run_sql", {"query": "SELECT count(*) FROM products"}),
    "mailer": lambda c: (
        c.send_ping()
    ),  # send_email is rate-limited to 5 a minute: the round trip itself is measured
}


def idle_memory_mib(client: docker.DockerClient, params: StdioServerParameters, server: str) -> float:
    """Memory of a connected, idle server container (the page cache left out)."""

    async def measure() -> float:
        async with connect(params):
            await anyio.sleep(3)
            labels = [f"io.mcpkit.server={server}", *(f"{k}={v}" for k, v in RUN_LABEL.items())]
            (container,) = client.containers.list(filters={"label": labels})
            stats = container.stats(stream=False)["memory_stats"]
            cache = stats.get("stats", {}).get("total_inactive_file", stats.get("stats", {}).get("cache", 0))
            return (stats["usage"] - cache) / 2**20

    return anyio.run(measure)


def drop_caches() -> bool:
    """Empty the kernel's page cache (root only), so a start reads the image from disk as after a reboot."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


# -- the command line's start-up ----------------------------------------------------------------------------------


def process_seconds(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of a whole process: CPU time moves less when the machine is busy."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = seconds(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def cli_figures() -> dict[str, Any]:
    """`kit --version` and `kit --help` through the installed console script, beside a bare interpreter, runs
    interleaved; and how many modules importing the command line loads."""
    kit = str(Path(sys.executable).parent / "kit")
    commands = {"python_pass": [sys.executable, "-c", "pass"], "kit_version": [kit, "--version"],
                "kit_help": [kit, "--help"]}  # fmt: skip
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
    for _ in range(max(STARTS, 15)):
        for name, command in commands.items():
            wall, cpu = process_seconds(command)
            samples[name][0].append(wall)
            samples[name][1].append(cpu)
    probe = "import sys, kit.cli; print(len(sys.modules))"
    modules = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    figures: dict[str, Any] = {"modules_after_import_kit_cli": int(modules)}
    for name, (walls, cpus) in samples.items():
        figures[f"{name}_s"], figures[f"{name}_cpu_s"] = figure(walls, "s"), figure(cpus, "s")
    return figures


CLI_TARGETS = {"kit_version_s": ("<=", 0.25), "kit_help_s": ("<=", 0.25)}


def report_cli(figures: dict[str, Any]) -> None:
    table = Table("figure", "median (min-max)", "target", title="The command line's start-up")
    for key, value in figures.items():
        op, bound = CLI_TARGETS.get(key, ("", None))
        cell = (
            f"{value['median']:.3f} ({value['min']:.3f}-{value['max']:.3f})"
            if isinstance(value, dict)
            else str(value)
        )
        table.add_row(key, cell, f"{op} {bound}" if bound is not None else "")
    console.print(table)


# -- sizes and builds -----------------------------------------------------------------------------------------------


def installed_bytes(client: docker.DockerClient, tag: str) -> int:
    """What the server's packages occupy in its image: the size floor is the base plus this."""
    output = client.containers.run(
        tag, ["-c", "du -sb /opt/venv /opt/server | awk '{s+=$1} END {print s}'"], entrypoint=["sh"], remove=True,
        network_mode="none",
    )  # fmt: skip
    return int(output.decode().strip())


NAIVE_DOCKERFILE = """\
FROM {base}
COPY wheels /wheels
COPY server /server
RUN python3 -m venv /venv && /venv/bin/pip install --no-index --find-links /wheels /server/*.whl
ENTRYPOINT ["/venv/bin/python", "-m", "{module}"]
"""


def naive_build(
    client: docker.DockerClient, settings: Settings, server: Server, source: Path
) -> tuple[float, int]:
    """What a user would write on the same base: one stage, pip and all, from the same wheels (nothing pulled).
    `source` is the kit's own build context for the same server, for its wheels."""
    context = source.parent / "naive"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(source / "wheels", context / "wheels")
    shutil.copytree(source / "server", context / "server")
    (context / "Dockerfile").write_text(
        NAIVE_DOCKERFILE.format(base=settings.base_image, module=server.declaration.module)
    )
    started = time.perf_counter()
    image, _ = client.images.build(
        path=str(context), tag=f"{IMAGE_PREFIX}/naive-{server.name}", nocache=True, rm=True
    )
    return time.perf_counter() - started, int(image.attrs["Size"])


def fresh_project(settings: Settings, server: Server, project: Path, image_prefix: str) -> Settings:
    """`server` alone in a new project at `project`, its committed lock copied in as a clone has it (a cold build
    resolves nothing, and has no build cache of its own): the settings that build it."""
    shutil.copytree(
        server.path, project / "servers" / server.name, ignore=shutil.ignore_patterns("tests", "__pycache__")
    )  # type: ignore[arg-type]
    (project / "locks").mkdir()
    shutil.copy2(server.project_dir / "locks" / f"{server.name}.lock", project / "locks")
    return settings.model_copy(
        update={"project_dir": project, "servers_dir": None, "image_prefix": image_prefix}
    )


def build_timings(settings: Settings, server: Server, workdir: Path) -> tuple[dict[str, float], Path]:
    """Cold (a new project: no build cache, its committed lock), then rebuilds after a one-line code change and after a
    dependency change, all through `kit build`'s own code; and the build context it used."""
    project = workdir / "project"
    bench = fresh_project(settings, server, project, IMAGE_PREFIX)

    def build() -> float:
        (copy,) = select(discover(bench), [server.name])
        started = time.perf_counter()
        raise_for_failures(build_servers(bench, [copy], SilentReporter()))
        return time.perf_counter() - started

    timings = {"cold_build_s": build()}
    code = project / "servers" / server.name / server.name / "server.py"
    code.write_text(code.read_text() + "\n# a one-line change\n")
    timings["rebuild_after_code_change_s"] = build()
    pyproject = project / "servers" / server.name / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = [", 'dependencies = ["six>=1.16", ', 1)
    )
    timings["rebuild_after_dependency_change_s"] = build()
    (copy,) = select(discover(bench), [server.name])
    return timings, settings.cache_dir / "contexts" / stage_key(copy) / "context"


# -- the gateway ------------------------------------------------------------------------------------------------


def gateway_figures(settings: Settings, servers: list[Server]) -> dict[str, Any]:
    """How long the gateway takes until every server behind it has started, with 1, 3 and 5 (it answers before
    that). What it adds to a call is measured paired in bench/gateway_bench.py."""
    figures: dict[str, Any] = {}
    mailer = next(s for s in servers if s.name == "mailer")
    (entry,) = launch_entries(settings, [mailer], extra_labels=RUN_LABEL)
    for count in (1, 3, 5):
        samples = []
        for _ in range(3):
            downstreams = [Downstream(f"m{i}", entry.stdio_params()) for i in range(count)]
            samples.append(anyio.run(_ready_seconds, Gateway(downstreams, GatewaySettings())))
        figures[f"ready_with_{count}_servers_s"] = figure(samples, "s")
    return figures


async def _ready_seconds(gateway: Gateway) -> float:
    async with gateway.running():  # it answers at once; this is until every server has started
        return await gateway.settled()


# -- the run --------------------------------------------------------------------------------------------------------


def measure(settings: Settings, servers: list[Server], client: docker.DockerClient) -> dict[str, Any]:
    base = settings.base_image
    results: dict[str, Any] = {
        "floor_docker_true_s": figure(
            [seconds(["docker", "run", "--rm", base, "true"]) for _ in range(STARTS)], "s"
        ),
        "floor_docker_python_s": figure(
            [seconds(["docker", "run", "--rm", base, "python3", "-c", "pass"]) for _ in range(STARTS)], "s"
        ),
        "bare_interpreter_s": figure([seconds([sys.executable, "-c", "pass"]) for _ in range(STARTS)], "s"),
        "base_image_mb": client.images.get(base).attrs["Size"] / 1e6,
    }
    for server in servers:
        native, contained = native_params(server), container_params(settings, server)
        first_native, first_container = [], []
        for _ in range(STARTS):  # interleaved, so both see the same machine
            first_native.append(first_response(native))
            first_container.append(first_response(contained))
        cold = None
        if drop_caches():
            cold = first_response(contained)
        native_calls = round_trips(native, CALLS_BY_SERVER[server.name])
        container_calls = round_trips(contained, CALLS_BY_SERVER[server.name])
        tag = image_tag(settings, server)
        image_bytes = int(client.images.get(tag).attrs["Size"])
        floor_bytes = int(client.images.get(base).attrs["Size"]) + installed_bytes(client, tag)
        results[server.name] = {
            "first_response_native_s": figure(first_native, "s"),
            "first_response_container_s": figure(first_container, "s"),
            "first_response_container_cold_caches_s": cold,
            "call_native_ms": {"p50": percentile(native_calls, 50), "p99": percentile(native_calls, 99), "runs": CALLS},
            "call_container_ms": {"p50": percentile(container_calls, 50), "p99": percentile(container_calls, 99), "runs": CALLS},
            "image_mb": image_bytes / 1e6,
            "image_floor_mb": floor_bytes / 1e6,
            "idle_memory_mib": idle_memory_mib(client, contained, server.name),
        }  # fmt: skip
    results["gateway"] = gateway_figures(settings, servers)
    with tempfile.TemporaryDirectory(prefix="mcpkit-bench-") as scratch:
        mailer = next(s for s in servers if s.name == "mailer")
        results["mailer"]["builds"], context = build_timings(settings, mailer, Path(scratch))
        naive_seconds, naive_bytes = naive_build(client, settings, mailer, context)
        results["mailer"]["builds"]["naive_dockerfile_cold_build_s"] = naive_seconds
        results["mailer"]["naive_image_mb"] = naive_bytes / 1e6
    return results


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    floor = results["floor_docker_python_s"]["median"]
    bare = results["bare_interpreter_s"]["median"]
    out: dict[str, Any] = {}
    for name in ("analyst", "mailer"):
        r = results[name]
        expected = floor + r["first_response_native_s"]["median"] - bare
        out[name] = {
            "first_response_vs_floor_plus_native": r["first_response_container_s"]["median"] / expected,
            "first_response_container_over_native": r["first_response_container_s"]["median"] / r["first_response_native_s"]["median"],
            "call_p50_added_ms": r["call_container_ms"]["p50"] - r["call_native_ms"]["p50"],
            "image_vs_floor": r["image_mb"] / r["image_floor_mb"],
        }  # fmt: skip
    builds = results["mailer"]["builds"]
    out["mailer"]["cold_build_vs_naive"] = builds["cold_build_s"] / builds["naive_dockerfile_cold_build_s"]
    out["mailer"]["code_change_rebuild_vs_cold"] = (
        builds["rebuild_after_code_change_s"] / builds["cold_build_s"]
    )
    out["mailer"]["image_vs_naive"] = results["mailer"]["image_mb"] / results["mailer"]["naive_image_mb"]
    return out


TARGETS = {
    "first_response_vs_floor_plus_native": ("<=", 1.15),
    "call_p50_added_ms": ("<=", 1.0),
    "image_vs_floor": ("<=", 1.10),
    "cold_build_vs_naive": ("<=", 2.0),
    "code_change_rebuild_vs_cold": ("<=", 0.20),
}


def report(results: dict[str, Any], rates: dict[str, Any]) -> None:
    table = Table(
        "figure", "analyst", "mailer", title=f"mcpkit {__version__}: median (min-max) of runs on this machine"
    )

    def fig(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, dict) and "median" in value:
            return f"{value['median']:.3f} ({value['min']:.3f}-{value['max']:.3f})"
        if isinstance(value, dict):
            return f"p50 {value['p50']:.2f} / p99 {value['p99']:.2f}"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    for key in ("first_response_native_s", "first_response_container_s", "first_response_container_cold_caches_s",
                "call_native_ms", "call_container_ms", "image_mb", "image_floor_mb", "idle_memory_mib"):  # fmt: skip
        table.add_row(key, fig(results["analyst"][key]), fig(results["mailer"][key]))
    for key in ("floor_docker_true_s", "floor_docker_python_s", "bare_interpreter_s", "base_image_mb"):
        table.add_row(key, fig(results[key]), "")
    for key, value in results["mailer"]["builds"].items():
        table.add_row(key, "", fig(value))
    table.add_row("naive_image_mb", "", fig(results["mailer"]["naive_image_mb"]))
    console.print(table)
    targets = Table("ratio", "analyst", "mailer", "target", title="Ratios taken in this run")
    for key in sorted({k for r in rates.values() for k in r}):
        op, bound = TARGETS.get(key, ("", None))
        cells = [f"{rates[n][key]:.3f}" if key in rates[n] else "" for n in ("analyst", "mailer")]
        targets.add_row(key, *cells, f"{op} {bound}" if bound is not None else "")
    console.print(targets)
    gateway = Table("gateway figure", "value", title="The gateway: ready with N mailers behind it")
    for key, value in results["gateway"].items():
        gateway.add_row(key, fig(value))
    console.print(gateway)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure_, axes = pyplot.subplots(1, 2, figsize=(11, 4))
    names = ["analyst", "mailer"]
    floor = results["floor_docker_python_s"]["median"]
    for index, (label, key) in enumerate(
        [("native", "first_response_native_s"), ("container", "first_response_container_s")]
    ):
        axes[0].bar(
            [i + index * 0.4 for i in range(2)], [results[n][key]["median"] for n in names], 0.4, label=label
        )
    axes[0].axhline(floor, color="grey", linestyle="--", label="docker run python3 -c pass")
    axes[0].set_xticks([0.2, 1.2], names)
    axes[0].set_ylabel("seconds to the first response")
    axes[0].legend()
    builds = results["mailer"]["builds"]
    axes[1].barh(list(builds), list(builds.values()))
    axes[1].set_xlabel("seconds (mailer)")
    figure_.tight_layout()
    figure_.savefig(path, dpi=110)


def machine(with_engine: bool = True) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    engine_version = None
    if with_engine:
        with engine.connected() as client:
            engine_version = client.version().get("Version")
    return {
        "commit": commit, "kit": __version__, "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "docker": engine_version, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }  # fmt: skip


def main() -> None:
    cli = cli_figures()
    report_cli(cli)
    if sys.argv[1:] == ["cli"]:
        OUT.mkdir(exist_ok=True)
        document = {"machine": machine(with_engine=False), "cli": cli, "targets": CLI_TARGETS}
        (OUT / "kit-cli.json").write_text(json.dumps(document, indent=2) + "\n")
        console.print(f"saved {OUT / 'kit-cli.json'}")
        return
    settings = load_settings(cwd=REPO)
    if is_kit_base(settings):
        ensure_base_image(settings, SilentReporter())
    servers = select(discover(settings), ["analyst", "mailer"])
    raise_for_failures(build_servers(settings, servers, SilentReporter()))
    with engine.connected() as client:
        try:
            results = measure(settings, servers, client)
        finally:
            ours = {
                image.id
                for pattern in ("*", "*/*")
                for image in client.images.list(name=f"{IMAGE_PREFIX}/{pattern}")
            }
            for image_id in ours:
                client.images.remove(image_id, force=True)
    rates = ratios(results)
    report(results, rates)
    OUT.mkdir(exist_ok=True)
    document = {"machine": machine(), "cli": cli, "results": results, "ratios": rates,
                "targets": {**TARGETS, **CLI_TARGETS}}  # fmt: skip
    (OUT / "kit.json").write_text(json.dumps(document, indent=2) + "\n")
    plot(results, OUT / "kit.png")
    console.print(f"saved {OUT / 'kit.json'} and {OUT / 'kit.png'}")


if __name__ == "__main__":
    main()
