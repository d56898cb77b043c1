"""An experiment, not a feature: what a server container's first answer would gain if the code of the modules its
start imports were read from one file instead of one file each (on this engine's fuse-overlayfs every open is a
round trip through a user-space daemon).

From the analyst's image, a copy is made in which the modules a start imports (the runtime, the server, anyio's event
loop backend) are recorded into /opt/start.bin, one marshalled table of their compiled code, and a meta-path finder,
put in by a .pth, serves those modules from it (their `__file__`, and their `__path__` for packages, the real ones,
so anything not recorded is found as before). Then the first answer of both images, started as a client entry starts
them, interleaved. The copy is removed at the end.

Prints a table, writes .bench/start-bundle.json.
"""

from __future__ import annotations

import json
import statistics

import docker
from inner_loop_bench import OUT, REPO, console, load
from kit_bench import RUN_LABEL, STARTS, container_params, first_response, machine
from rich.table import Table

from kit.containers import engine
from kit.identity import image_tag
from kit.image.base_image import ensure_base_image, is_kit_base
from kit.image.builder import build_servers, raise_for_failures
from kit.project.servers import discover, select
from kit.project.settings import load_settings
from kit.reporting import SilentReporter

SITE = "/opt/venv/lib/python3.11/site-packages"
RECORD = """
import importlib, marshal, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
table = {}
for name, module in list(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    if spec is None or not (spec.origin or "").endswith(".py") or not spec.cached:
        continue
    try:
        with open(spec.cached, "rb") as pyc:
            table[name] = (spec.origin, spec.submodule_search_locations is not None, pyc.read()[16:])
    except OSError:
        continue
with open("/opt/start.bin", "wb") as out:
    out.write(marshal.dumps(table))
print(len(table))
"""
FINDER = """
import marshal, os, sys
from importlib.machinery import ModuleSpec


class StartBundle:
    def __init__(self, table):
        self.table = table

    def find_spec(self, name, path=None, target=None):
        entry = self.table.get(name)
        if entry is None:
            return None
        origin, package, _ = entry
        spec = ModuleSpec(name, self, origin=origin, is_package=package)
        if package:
            spec.submodule_search_locations = [os.path.dirname(origin)]
        spec.has_location = True
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        origin, _, code = self.table.pop(module.__spec__.name)
        module.__file__ = origin
        exec(marshal.loads(code), module.__dict__)


try:
    with open("/opt/start.bin", "rb") as table:
        sys.meta_path.insert(0, StartBundle(marshal.loads(table.read())))
except OSError:
    pass
"""
STARTED = ["mcpkit_runtime.sdk", "analyst.server", "mcpkit_runtime.stdio", "anyio._backends._asyncio"]


def bundled_copy(client: docker.DockerClient, image: str) -> tuple[str, int]:
    """The copy of `image` with its start recorded into one file: its tag and how many modules went in."""
    script = (
        f"import subprocess, sys; recorded = subprocess.run([sys.executable, '-c', {RECORD!r}, *{STARTED!r}], "
        f"check=True, capture_output=True, text=True, cwd='/tmp').stdout; "
        f"open('{SITE}/mcpkit_start_bundle.py', 'w').write({FINDER!r}); "
        f"open('{SITE}/00-mcpkit-start-bundle.pth', 'w').write('import mcpkit_start_bundle\\n'); print(recorded)"
    )
    container = client.containers.run(image, ["-c", script], entrypoint=["python3"], user="0", network_mode="none",
                                      labels=RUN_LABEL, detach=True)  # fmt: skip
    try:
        if container.wait()["StatusCode"] != 0:
            raise SystemExit(container.logs().decode())
        modules = int(container.logs(stderr=False).decode().split()[-1])
        tag = f"{image.rsplit(':', 1)[0]}-start-bundle:bench"
        config = client.images.get(image).attrs["Config"]  # the run above replaced its start command
        container.commit(*tag.rsplit(":", 1), conf={"User": config["User"], "Entrypoint": config["Entrypoint"],
                                                    "Cmd": config["Cmd"], "Labels": RUN_LABEL})  # fmt: skip
    finally:
        container.remove(force=True)
    return tag, modules


def main() -> None:
    settings = load_settings(cwd=REPO)
    if is_kit_base(settings):
        ensure_base_image(settings, SilentReporter())
    (server,) = select(discover(settings), ["analyst"])
    raise_for_failures(build_servers(settings, [server], SilentReporter()))
    image = image_tag(settings, server)
    with engine.connected() as client:
        bundled, modules = bundled_copy(client, image)
        try:
            as_built = container_params(settings, server)
            copy = as_built.model_copy(update={"args": [*as_built.args[:-1], bundled]})
            samples: dict[str, list[float]] = {"as built": [], "start bundle": []}
            started_load = load()
            for turn in range(STARTS):
                pair = [("as built", as_built), ("start bundle", copy)]
                for name, params in pair if turn % 2 == 0 else pair[::-1]:
                    samples[name].append(first_response(params))
        finally:
            client.images.remove(bundled, force=True)
    figures = {
        name: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v), "runs": len(v)}
        for name, v in samples.items()
    }
    table = Table("image", "first answer: median (min-max)", title=f"analyst, {modules} modules in one file")
    for name, f in figures.items():
        table.add_row(name, f"{f['median_s']:.3f} s ({f['min_s']:.3f}-{f['max_s']:.3f})")
    console.print(table)
    console.print(f"load at start {started_load}, at end {load()}")
    OUT.mkdir(exist_ok=True)
    document = {
        "machine": machine(),
        "modules": modules,
        "load": [started_load, load()],
        "first_answer": figures,
    }
    (OUT / "start-bundle.json").write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"saved {OUT / 'start-bundle.json'}")


if __name__ == "__main__":
    main()
