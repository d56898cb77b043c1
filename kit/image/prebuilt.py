"""`kit add --image` and `kit build` for a server that comes as an image: nothing is built or pulled. The image must be on this machine;
it passes the same smoke test as a built one, started through its client entry, and an unchanged image with an
unchanged declaration that passed is not started again (`kit build --force` does)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit import __version__, files, identity
from kit.containers import engine
from kit.containers.launch import probe_entry
from kit.errors import KitError
from kit.image import schema_lock
from kit.image.smoke import smoke_test
from kit.project import manifest
from kit.project.image_servers import default_name, load_image_server
from kit.project.manifest import MANIFEST_NAME
from kit.project.servers import SERVER_NAME, SERVER_NAME_RULE, Server, discover
from kit.project.settings import Settings
from kit.reporting import Reporter

if TYPE_CHECKING:
    from kit.image.builder import BuildResult


def check(settings: Settings, server: Server, reporter: Reporter, *, force: bool) -> BuildResult:
    from kit.image.builder import BuildResult

    started = time.perf_counter()
    reference = str(server.image)
    try:
        with engine.connected() as client:
            image = engine.find_image(client, reference)
        if image is None:
            raise KitError(
                f"the image {reference} is not on this machine (the kit never pulls one)",
                hint=f"load it with `docker load -i FILE.tar`, or build it with `docker build -t {reference} .`, "
                "then `kit build` again",
            )
        memory = (
            settings.cache_dir / "prebuilt-checks" / identity.project_id(server.project_dir) / server.name
        )
        smoke, tools = _checked(settings, server, reporter, memory, _inputs(server, str(image.id)), force)
    except KitError as exc:
        reporter.step(f"failed: {exc.message.splitlines()[0]}")
        return BuildResult(server.name, reference, "failed", error=exc.message, hint=exc.hint,
                           seconds=time.perf_counter() - started)  # fmt: skip
    return BuildResult(
        server.name, reference, "prebuilt", image_id=str(image.id), size_bytes=image.attrs.get("Size", 0),
        seconds=time.perf_counter() - started, tools=tools, smoke=smoke,
    )  # fmt: skip


def _checked(
    settings: Settings, server: Server, reporter: Reporter, memory: Path, inputs: str, force: bool
) -> tuple[str, list[str]]:
    """(what the smoke test says, the tools it listed); `memory` holds the inputs of the last check that passed."""
    check = server.declaration.smoke
    if check.skip:
        reporter.step(f"smoke test skipped, as declared: {check.skip}")
        return f"skipped: {check.skip}", []
    if not force and memory.is_file():
        remembered = json.loads(memory.read_text(encoding="utf-8"))
        if remembered.get("inputs") == inputs:
            reporter.step(
                "unchanged: this image passed its smoke test as declared (`kit build --force` checks again)"
            )
            return "passed when checked", list(remembered.get("tools", []))
    reporter.step(f"prebuilt image, not built: smoke test ({check.describe()}) as a client starts it")
    result = smoke_test(probe_entry(settings, server, labels={identity.SMOKE_TEST: "true"}), check)
    changes = schema_lock.check_snapshot(server, result.snapshot)
    if changes:
        reporter.step(f"schema changes against {schema_lock.LOCK_NAME}:\n{schema_lock.render(changes)}")
    reporter.step(
        f"{result.server_name} {result.server_version} answered with tools {', '.join(result.tools)}"
    )
    files.write_atomically(memory, json.dumps({"inputs": inputs, "tools": result.tools}))
    return "passed", result.tools


def _inputs(server: Server, image_id: str) -> str:
    """What the check depends on: the kit, the image's content, how it is declared to start and be checked."""
    parts = [__version__, image_id, server.declaration.model_dump_json()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class AddedImage:
    name: str
    image: str
    present: bool | None  # the image is on this machine now (None: the engine could not be asked)
    manifest: Path


def add_image_server(
    settings: Settings, table: dict[str, Any], reporter: Reporter, *, name: str | None, replace: bool = False
) -> AddedImage:
    """`table` is the [servers.NAME] table to write: image, command, args, env, ... (see ImageDeclaration).
    Nothing is resolved or built; an image not on this machine yet is added, with a note saying how to load it."""
    try:
        name = name or default_name(str(table.get("image", "")))
    except ValueError as exc:
        raise KitError(
            f"kit add --image: {exc}", hint="give an image as Docker names it: mcp/git:1.0"
        ) from None
    if not SERVER_NAME.match(name):
        raise KitError(f"invalid server name {name!r}", hint=f"give a name of {SERVER_NAME_RULE}")
    existing = (
        {s.name: s for s in discover(settings)} if (settings.project_dir / MANIFEST_NAME).is_file() else {}
    )
    if name in existing and not (replace and existing[name].path is None):
        raise KitError(
            f"there is already a server named {name!r} ({existing[name].where})",
            hint="give another name" + (", or pass --replace" if existing[name].path is None else ""),
        )
    server = load_image_server(settings.project_dir, name, table)  # validates the table before it is written
    try:
        with engine.connected() as client:
            present: bool | None = engine.find_image(client, str(server.image)) is not None
    except KitError as exc:  # adding needs no engine; `kit build` checks the image
        present = None
        reporter.step(f"whether {server.image} is on this machine is not known: {exc.message}")
    if present is False:
        reporter.step(
            f"{server.image} is not on this machine yet: `docker load -i FILE.tar` or `docker build -t "
            f"{server.image} .` before `kit build {name}` (the kit never pulls an image)"
        )
    path = manifest.add_server(settings.project_dir, name, table, replace=replace)
    return AddedImage(name, str(server.image), present, path)
