"""`kit doctor`: what stands between the project and working servers, each problem with the command that fixes it.

The engine, the base image, each server's image (present, current, answering an MCP handshake), the client configs
installed on this machine (do their images exist?), and what `kit gc` would clean up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import docker

from kit import identity
from kit.clients.common import Machine
from kit.clients.configure import installed_entries
from kit.containers import engine, gc
from kit.containers.launch import probe_entry
from kit.errors import KitError
from kit.image.base_image import is_kit_base
from kit.image.freshness import build_state
from kit.image.smoke import smoke_test
from kit.project.servers import Server
from kit.project.settings import Settings


@dataclass(frozen=True)
class Check:
    subject: str  # what was checked, e.g. "image of analyst"
    ok: bool
    detail: str
    fix: str = ""  # the command that fixes it, when not ok


@dataclass
class Diagnosis:
    checks: list[Check] = field(default_factory=list)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def diagnose(settings: Settings, servers: list[Server], *, handshake: bool = True) -> Diagnosis:
    diagnosis = Diagnosis()
    add = diagnosis.checks.append
    try:
        with engine.connected() as client:
            add(Check("Docker engine", True, f"reachable, version {client.version().get('Version', '?')}"))
            base = engine.find_image(client, settings.base_image)
            fix = (
                "kit base" if is_kit_base(settings) else f"make {settings.base_image} available (docker pull)"
            )
            add(
                Check(
                    "base image", base is not None, settings.base_image + ("" if base else " is missing"), fix
                )
            )
            present = _check_images(client, settings, servers, add)
            _check_configs(client, add)
            leftovers = gc.find_leftovers(client, identity.project_id(settings.project_dir))
    except KitError as exc:
        add(Check("Docker engine", False, exc.message, exc.hint or ""))
        return diagnosis
    if handshake:
        for server in present:
            if server.declaration.smoke.skip:
                add(
                    Check(
                        f"{server.name} answers", True, f"not checked: {server.declaration.smoke.describe()}"
                    )
                )
                continue
            try:
                result = smoke_test(probe_entry(settings, server), server.declaration.smoke)
                add(
                    Check(
                        f"{server.name} answers",
                        True,
                        f"MCP handshake, {len(result.tools)} tools, {result.seconds:.1f}s",
                    )
                )
            except KitError as exc:
                add(
                    Check(
                        f"{server.name} answers",
                        False,
                        exc.message.splitlines()[0],
                        f"kit build --force {server.name}",
                    )
                )
    containers = [item for item in leftovers if item.kind == "container"]
    images = [item for item in leftovers if item.kind == "image"]
    add(
        Check(
            "leftover containers", not containers, ", ".join(c.what for c in containers) or "none", "kit gc"
        )
    )
    size = sum(i.bytes for i in images) / 1e6
    add(
        Check("leftover images", not images, f"{len(images)} ({size:.0f} MB)" if images else "none", "kit gc")
    )
    return diagnosis


def _check_images(
    client: docker.DockerClient, settings: Settings, servers: list[Server], add: Callable[[Check], None]
) -> list[Server]:
    present = []
    for server in servers:
        state, image = build_state(client, settings, server)
        tag = identity.image_tag(settings, server)
        if state == "current":
            add(Check(f"image of {server.name}", True, f"{tag} is current"))
        elif server.image is not None:  # prebuilt: the kit cannot make it, only say how to bring it
            fix = f"docker load -i FILE.tar, or docker build -t {tag} ."
            add(
                Check(
                    f"image of {server.name}",
                    False,
                    f"{tag} is {state} (a prebuilt image, never pulled)",
                    fix,
                )
            )
        else:
            add(Check(f"image of {server.name}", False, f"{tag} is {state}", f"kit build {server.name}"))
        if image is not None:
            present.append(server)
    return present


def _check_configs(client: docker.DockerClient, add: Callable[[Check], None]) -> None:
    for entry in installed_entries(Machine.current()):
        if entry.image is None:  # the gateway's entry: it starts the images doctor checks above
            add(Check(f"{entry.client} config", True, f"{entry.name} in {entry.path} starts the gateway"))
            continue
        exists = engine.find_image(client, entry.image) is not None
        detail = f"{entry.name} in {entry.path} runs {entry.image}" + (
            "" if exists else ", which does not exist"
        )
        fix = f"kit build {entry.name}, or `kit config --install` to point it at the current image"
        add(Check(f"{entry.client} config", exists, detail, fix))
