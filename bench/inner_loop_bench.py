"""The kit's own inner loop, for the analyst and the mailer: a cold build, then a rebuild after a one-line change in
the server's own code, each broken down into where its seconds go (the kit's own steps, each Dockerfile
instruction, the start-up configuration, the smoke test); and a container's first answer against its floor
(`docker run --rm IMAGE python3 -c pass`) plus the same server's first answer run natively.

Prints tables, writes .bench/inner-loop.json (.bench/inner-loop-NAME.json with `--server NAME`, which measures one
server; `--builds-only` leaves out the first answer). Figures are medians with their spread, and the machine's load
(`uptime`) beside them: on a shared 2-core machine, a build measured under load says so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kit_bench import (
    STARTS,
    container_params,
    figure,
    first_response,
    fresh_project,
    machine,
    native_params,
    seconds,
)
from rich.console import Console
from rich.table import Table

from kit.containers import engine
from kit.identity import image_tag, project_slug
from kit.image.base_image import ensure_base_image, is_kit_base
from kit.image.builder import build_servers, raise_for_failures
from kit.project.servers import Server, discover, select
from kit.project.settings import Settings, load_settings
from kit.reporting import SilentReporter

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / ".bench"
REBUILDS = int(os.environ.get("BENCH_REBUILDS", "3"))
console = Console()
_STEP = re.compile(r"^Step \d+/\d+ : (.*)$")


def load() -> str:
    """The load averages (1, 5, 15 minutes), as `uptime` shows them."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


class TimingReporter(SilentReporter):
    """Timestamps the build's own steps and the classic builder's `Step N/M` lines: a phase lasts until the next."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, str]] = [(time.perf_counter(), "start: freshness, lock check")]

    def step(self, message: str) -> None:
        self.marks.append((time.perf_counter(), message.split(":")[0].split(" (")[0]))

    def detail(self, line: str) -> None:
        found = _STEP.match(line.strip())
        if found:
            self.marks.append((time.perf_counter(), "  " + found.group(1)[:70]))
        elif line.startswith("Successfully built"):
            self.marks.append((time.perf_counter(), "configure (entrypoint, env, labels) in one commit"))

    def for_server(self, name: str) -> TimingReporter:
        return self

    def phases(self, end: float) -> list[tuple[str, float]]:
        times = [t for t, _ in self.marks] + [end]
        return [(name, times[i + 1] - t) for i, (t, name) in enumerate(self.marks)]


def timed_build(settings: Settings, name: str) -> tuple[float, list[tuple[str, float]]]:
    (server,) = select(discover(settings), [name])
    reporter = TimingReporter()
    started = time.perf_counter()
    raise_for_failures(build_servers(settings, [server], reporter))
    end = time.perf_counter()
    return end - started, reporter.phases(end)


def build_figures(settings: Settings, server: Server, workdir: Path) -> dict[str, Any]:
    """A cold build in a fresh project (its committed lock copied in, as a clone has it; no build cache of its
    own), then REBUILDS one-line code changes, each built and timed with its phases."""
    project = workdir / server.name
    bench = fresh_project(settings, server, project, "mcpkit-bench")
    load_before = load()
    cold, cold_phases = timed_build(bench, server.name)
    code = project / "servers" / server.name / server.name / "server.py"
    rebuilds, last_phases = [], []
    for index in range(REBUILDS):
        code.write_text(code.read_text() + f"\n# a one-line change ({index})\n")
        took, last_phases = timed_build(bench, server.name)
        rebuilds.append(took)
    lock = project / "locks" / f"{server.name}.lock"
    return {
        "load_before": load_before,
        "load_after": load(),
        "cold_build_s": cold,
        "code_change_rebuild_s": figure(rebuilds, "s"),
        "code_change_rebuild_vs_cold": statistics.median(rebuilds) / cold,
        "lock_unchanged": lock.read_text() == (server.project_dir / "locks" / lock.name).read_text(),
        "cold_phases_s": dict(_numbered(cold_phases)),
        "rebuild_phases_s": dict(_numbered(last_phases)),
    }


def _numbered(phases: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return [(f"{i:02d} {name}", round(took, 3)) for i, (name, took) in enumerate(phases)]


def first_answer_figures(settings: Settings, server: Server) -> dict[str, Any]:
    """Spawn to the answer of `initialize`, natively and in the container, interleaved; and the floor of a start of
    the server's own image (`python3 -c pass` in it, the same docker CLI)."""
    image = image_tag(settings, server)
    floor_cmd = ["docker", "run", "--rm", "--network", "none", "--read-only", "--entrypoint", "python3", image,
                 "-c", "pass"]  # fmt: skip
    native, contained = native_params(server), container_params(settings, server)
    floors, natives, containers, bare = [], [], [], []
    for _ in range(STARTS):
        floors.append(seconds(floor_cmd))
        bare.append(seconds([sys.executable, "-c", "pass"]))
        natives.append(first_response(native))
        containers.append(first_response(contained))
    floor, expected = statistics.median(floors), statistics.median(floors) + statistics.median(natives)
    expected -= statistics.median(
        bare
    )  # the native figure includes a host interpreter's start the floor has too
    return {
        "load": load(),
        "floor_image_python_pass_s": figure(floors, "s"),
        "bare_interpreter_s": figure(bare, "s"),
        "first_answer_native_s": figure(natives, "s"),
        "first_answer_container_s": figure(containers, "s"),
        "first_answer_vs_floor_plus_native": statistics.median(containers) / expected,
        "container_over_expected_s": statistics.median(containers) - expected,
        "floor_s": floor,
        "image_start": image_start_figures(image),
    }


_PROBE = (
    "import sys, time, importlib.util as u; t = time.perf_counter(); import {module}; "
    "mods = [m for m in sys.modules.values() if getattr(m, '__file__', None)]; "
    "src = [m.__file__ for m in mods if m.__file__.endswith('.py')]; "
    "missing = [f for f in src if not __import__('os').path.exists(u.cache_from_source(f))]; "
    "print(len(sys.modules), len(src), len(missing), round(time.perf_counter() - t, 3), *missing[:5])"
)


def image_start_figures(image: str) -> dict[str, Any]:
    """What the container's first answer is made of: how many modules the server imports, how many of their .pyc
    files the image lacks (under the read-only root none can be written at run time), and its import time inside
    the container against the same interpreter flags a client uses."""
    module = image.split("/")[-1].split(":")[0]  # the servers here are packages named as the servers
    runs = []
    for _ in range(3):
        out = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "--read-only", "--entrypoint", "python", image,
             "-c", _PROBE.format(module=f"{module}.server")],
            check=True, capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        runs.append(out)
    modules, sources, missing = (int(v) for v in runs[0][:3])
    return {
        "modules_loaded": modules,
        "python_files_imported": sources,
        "without_pyc": missing,
        "without_pyc_examples": runs[0][4:],
        "import_in_container_s": figure([float(r[3]) for r in runs], "s"),
    }


def report(results: dict[str, Any], names: list[str]) -> None:
    summary = Table("figure", *names, title=f"The inner loop (load {results['load']})")
    for key in ("cold_build_s", "code_change_rebuild_s", "code_change_rebuild_vs_cold", "lock_unchanged"):
        summary.add_row(key, *(_cell(results[n]["builds"][key]) for n in names))
    for key in (
        "floor_s",
        "first_answer_native_s",
        "first_answer_container_s",
        "first_answer_vs_floor_plus_native",
    ):
        summary.add_row(key, *(_cell(results[n].get("first_answer", {}).get(key)) for n in names))
    for key in ("modules_loaded", "python_files_imported", "without_pyc", "import_in_container_s"):
        summary.add_row(
            key, *(_cell(results[n].get("first_answer", {}).get("image_start", {}).get(key)) for n in names)
        )
    console.print(summary)
    for name in names:
        phases = Table("phase", "cold s", "rebuild s", title=f"{name}: where a build's seconds go")
        cold, rebuild = results[name]["builds"]["cold_phases_s"], results[name]["builds"]["rebuild_phases_s"]
        for key in sorted(set(cold) | set(rebuild)):
            phases.add_row(key, _cell(cold.get(key)), _cell(rebuild.get(key)))
        console.print(phases)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict) and "median" in value:
        return f"{value['median']:.3f} ({value['min']:.3f}-{value['max']:.3f})"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", action="append", choices=["analyst", "mailer"], help="only this server")
    parser.add_argument("--builds-only", action="store_true", help="leave out the first answer")
    options = parser.parse_args()
    names = options.server or ["analyst", "mailer"]
    settings = load_settings(cwd=REPO)
    if is_kit_base(settings):
        ensure_base_image(settings, SilentReporter())
    servers = select(discover(settings), names)
    results: dict[str, Any] = {"load": load()}
    with tempfile.TemporaryDirectory(prefix="mcpkit-inner-") as scratch:
        try:
            for server in servers:
                results[server.name] = {"builds": build_figures(settings, server, Path(scratch))}
                console.print_json(data={server.name: results[server.name]})
        finally:  # only this run's images: another bench may be running on the same engine
            with engine.connected() as client:
                for server in servers:
                    slug = project_slug(Path(scratch) / server.name)
                    for image in client.images.list(name=f"mcpkit-bench/{slug}/*"):
                        client.images.remove(image.id, force=True)
    if not options.builds_only:
        raise_for_failures(build_servers(settings, servers, SilentReporter()))
        for server in servers:
            results[server.name]["first_answer"] = first_answer_figures(settings, server)
    report(results, [server.name for server in servers])
    OUT.mkdir(exist_ok=True)
    document = {"machine": machine(), "results": results}
    saved = OUT / ("inner-loop.json" if len(names) == 2 else f"inner-loop-{names[0]}.json")
    saved.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"saved {saved}")


if __name__ == "__main__":
    main()
