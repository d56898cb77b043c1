"""Before and after the start bundle (mcpkit_runtime/start_bundle.py): a server's first answer (the analyst's, or
`--server mailer`), started as a client entry starts it, from its image as the kit builds it (the bundle on) and with MCPKIT_START_BUNDLE=0 (the
start reads its modules from the files, as before), interleaved, so both see the same machine.

On this engine's fuse-overlayfs every file a start opens is a round trip through a user-space daemon; the bundle
is one read of one file for the compiled code of what the start imports.

Prints a table, writes .bench/start-bundle.json (.bench/start-bundle-NAME.json for another server).
"""

from __future__ import annotations

import argparse
import json
import statistics

import docker
from inner_loop_bench import OUT, REPO, console, load
from kit_bench import RUN_LABEL, STARTS, container_params, first_response, machine, seconds
from rich.table import Table

from kit.containers import engine
from kit.identity import image_tag
from kit.image.base_image import ensure_base_image, is_kit_base
from kit.image.builder import build_servers, raise_for_failures
from kit.project.servers import discover, select
from kit.project.settings import load_settings
from kit.reporting import SilentReporter
from mcpkit_runtime import start_bundle

COUNT = "from mcpkit_runtime import start_bundle as b; print(sum(len(b.read(open(p, 'rb').read())) for p in b.PATHS))"


def bundled_modules(client: docker.DockerClient, image: str) -> int:
    """How many modules the image's bundles hold: the dependencies' and the server's."""
    output = client.containers.run(image, ["-c", COUNT], entrypoint=["python3"], network_mode="none",
                                   labels=RUN_LABEL, remove=True)  # fmt: skip
    return int(output.decode().split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["analyst", "mailer"], default="analyst")
    server_name = parser.parse_args().server
    settings = load_settings(cwd=REPO)
    if is_kit_base(settings):
        ensure_base_image(settings, SilentReporter())
    (server,) = select(discover(settings), [server_name])
    raise_for_failures(build_servers(settings, [server], SilentReporter()))
    with engine.connected() as client:
        modules = bundled_modules(client, image_tag(settings, server))
    bundled = container_params(settings, server)
    image_at = bundled.args.index(image_tag(settings, server))
    off = [*bundled.args[:image_at], "-e", f"{start_bundle.SWITCH}=0", *bundled.args[image_at:]]
    variants = {
        "bundle off (files, as before)": bundled.model_copy(update={"args": off}),
        "start bundle": bundled,
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    floors: dict[str, list[float]] = {
        name: [] for name in variants
    }  # what any start of the image's Python pays
    floor = ["docker", "run", "--rm", "--network", "none", "--read-only", "--entrypoint", "python3"]
    started_load = load()
    for turn in range(STARTS):
        order = list(variants.items())
        for name, params in order if turn % 2 == 0 else order[::-1]:
            samples[name].append(first_response(params))
            switch = [] if params is bundled else ["-e", f"{start_bundle.SWITCH}=0"]
            floors[name].append(seconds([*floor, *switch, image_tag(settings, server), "-c", "pass"]))
    figures = {
        name: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v), "runs": len(v)}
        for name, v in samples.items()
    }
    passes = {name: statistics.median(v) for name, v in floors.items()}
    table = Table(f"{server_name} image", "first answer: median (min-max)", "python3 -c pass: median",
                  title=f"{server_name}, {modules} modules bundled")  # fmt: skip
    for name, f in figures.items():
        table.add_row(
            name, f"{f['median_s']:.3f} s ({f['min_s']:.3f}-{f['max_s']:.3f})", f"{passes[name]:.3f} s"
        )
    console.print(table)
    console.print(f"load at start {started_load}, at end {load()}")
    OUT.mkdir(exist_ok=True)
    document = {
        "machine": machine(),
        "modules": modules,
        "load": [started_load, load()],
        "first_answer": figures,
        "python_pass_median_s": passes,
    }
    saved = OUT / ("start-bundle.json" if server_name == "analyst" else f"start-bundle-{server_name}.json")
    saved.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"saved {saved}")


if __name__ == "__main__":
    main()
