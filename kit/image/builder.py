"""`kit build`: one image per server, from a locked set of host-downloaded wheels, smoke-tested before it is
tagged. A fleet builds in parallel where the machine allows; one server's failure is its own result, never the
others'."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import APIError
from docker.models.images import Image
from packaging.utils import parse_wheel_filename

from kit import __version__, identity
from kit.containers import engine, gc
from kit.containers.launch import probe_entry
from kit.errors import KitError
from kit.identity import image_tag, labels_of
from kit.image import (
    baked_files,
    bases,
    code_layer,
    diagnosis,
    engine_build,
    entrypoints,
    failures,
    freshness,
    locking,
    prebuilt,
    schema_lock,
    system_packages,
    tools_record,
    wheelhouse,
)
from kit.image.base_image import is_kit_base
from kit.image.dockerfile import entrypoint, expander_archive, expands, render_dockerfile, stage_key
from kit.image.smoke import SmokeResult, SmokeTestFailed, smoke_test
from kit.project.locks import Lock
from kit.project.servers import Server, ServerDeclaration
from kit.project.settings import Settings
from kit.project.sources import source_hash
from kit.reporting import Reporter


@dataclass
class BuildResult:
    server: str
    tag: str
    status: str  # "built", "unchanged", "failed", or "prebuilt" (an image the kit runs as it is, checked)
    image_id: str = ""
    size_bytes: int = 0
    seconds: float = 0.0
    dependencies: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    smoke: str = (
        "not run"  # "passed", "passed when built" (unchanged), "failed", "not run", "skipped: REASON"
    )
    error: str | None = None
    hint: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class _Fleet:
    """What every server's build shares."""

    settings: Settings
    target: wheelhouse.PythonTarget
    base_id: str
    runtime_wheels: Path | None
    force: bool
    retry_failed: bool


def build_servers(
    settings: Settings,
    servers: list[Server],
    reporter: Reporter,
    *,
    force: bool = False,
    jobs: int | None = None,
    retry_failed: bool = True,
) -> list[BuildResult]:
    """Build each server (or find it unchanged); the results come in the servers' order. Without `retry_failed`
    (a fleet build), a server whose build failed with exactly the same inputs fails again at once, from memory."""
    runtime = None
    if any(server.path is not None for server in servers):
        runtime = wheelhouse.runtime_wheel_dir(settings.cache_dir, reporter)
    fleets: dict[str, _Fleet] = {}  # per base image: the servers that declare the same Python share one
    for server in [s for s in servers if s.image is None]:
        server_settings = bases.server_settings(settings, server)
        if server_settings.base_image not in fleets:
            base_id, target = _base(
                server_settings, server_settings.base_image != settings.base_image, reporter
            )
            fleets[server_settings.base_image] = _Fleet(
                server_settings, target, base_id, runtime, force, retry_failed or force
            )
    fleet_of = {
        s.name: fleets[bases.server_settings(settings, s).base_image] for s in servers if s.image is None
    }

    def one(server: Server) -> BuildResult:
        if server.image is not None:  # a prebuilt image: checked, never built
            return prebuilt.check(settings, server, reporter.for_server(server.name), force=force)
        return _build_safely(fleet_of[server.name], server, reporter.for_server(server.name))

    workers = max(1, min(len(servers), jobs or os.cpu_count() or 1))
    with ThreadPoolExecutor(workers, thread_name_prefix="kit-build") as pool:
        return list(pool.map(one, servers))


def _base(settings: Settings, on_demand: bool, reporter: Reporter) -> tuple[str, wheelhouse.PythonTarget]:
    """The base's image id and Python. The project's base must exist; one a server's Python asks for is built
    when it is missing."""
    if on_demand:
        bases.ensure(settings, reporter)
    with engine.connected() as client:
        base = engine.find_image(client, settings.base_image)
        if base is None and is_kit_base(settings):
            raise KitError(
                f"base image {settings.base_image} does not exist yet",
                hint="build it with `kit base` (needs root and debootstrap), or set KIT_BASE_IMAGE=python:3.12-slim",
            )
        target = wheelhouse.target_of(client, settings.base_image, settings.cache_dir)
    reporter.step(f"base {settings.base_image}: Python {target.version}, {target.platforms[0]}")
    return (str(base.id) if base else ""), target


def raise_for_failures(results: list[BuildResult]) -> None:
    """For callers that need every image: the first failure as the KitError it was."""
    failed = [r for r in results if not r.ok]
    if failed:
        raise KitError(f"{failed[0].server}: {failed[0].error}", hint=failed[0].hint)


def _build_safely(fleet: _Fleet, server: Server, reporter: Reporter) -> BuildResult:
    started = time.perf_counter()
    memory = failures.FailureMemory(fleet.settings.cache_dir, server, fleet.base_id)
    remembered = None if fleet.retry_failed else memory.recall()
    if remembered is not None:
        reporter.step(f"failed before: {remembered.error.splitlines()[0]}")
        return BuildResult(
            server.name, image_tag(fleet.settings, server), "failed", error=f"failed before: {remembered.error}",
            hint=f"nothing it is built from changed since; `kit build {server.name}` tries again"
            + (f" ({remembered.hint})" if remembered.hint else ""), seconds=time.perf_counter() - started,
        )  # fmt: skip
    try:
        with engine.connected() as client:  # one connection per build thread
            result = _build_one(client, fleet, server, reporter, started)
        memory.forget()
        return result
    except KitError as exc:
        reporter.step(f"failed: {exc.message.splitlines()[0]}")
        smoke = "failed" if isinstance(exc, SmokeTestFailed) else "not run"
        memory.remember(exc.message, exc.hint)
        return BuildResult(
            server.name, image_tag(fleet.settings, server), "failed", smoke=smoke, error=exc.message,
            hint=exc.hint, seconds=time.perf_counter() - started,
        )  # fmt: skip
    except Exception as exc:  # a bug or an engine failure: this server fails, the fleet carries on
        reporter.step(f"failed: {type(exc).__name__}: {exc}")
        return BuildResult(
            server.name, image_tag(fleet.settings, server), "failed", error=f"unexpected {type(exc).__name__}: {exc}",
            hint="run `kit --verbose build NAME` for details, and report it", seconds=time.perf_counter() - started,
        )  # fmt: skip


def _build_one(
    client: docker.DockerClient, fleet: _Fleet, server: Server, reporter: Reporter, started: float
) -> BuildResult:
    settings = fleet.settings
    lock = locking.current_lock(server, fleet.target)
    if lock is not None:
        versioned, expected, current = _freshness(client, fleet, server, lock)
        if current is not None:
            reporter.step("unchanged: its image is up to date (`kit build --force` rebuilds)")
            return _result(settings, versioned, current, "unchanged", started)

    work = settings.cache_dir / "contexts" / stage_key(server)  # per project: two `analyst`s never share one
    shutil.rmtree(work, ignore_errors=True)
    context = work / "context"
    (context / "wheels").mkdir(parents=True)
    # A server whose code is added in one step (kit/image/code_layer.py) needs its wheel here only for a resolution.
    layered = code_layer.applies(server)
    if server.path is not None and not (layered and lock is not None):
        reporter.step("building the server's wheel")
    # Local packages' wheels outside the context: a wheel present twice in the context tar (hard-linked) confuses
    # the classic builder's COPY cache, which then reuses a layer holding an older build of the same file name.
    server_wheel, find_links = locking.host_wheels(
        settings, server, fleet.target, fleet.runtime_wheels, server_dir=context / "server", local_dir=work / "local-wheels",
        reporter=reporter, own=not (layered and lock is not None),
    )  # fmt: skip
    if lock is None:  # resolved now: the image may still be current (a lock deleted, the same versions again)
        lock = locking.lock_server(server, fleet.target, find_links, reporter, server_wheel=server_wheel)
        versioned, expected, current = _freshness(client, fleet, server, lock)
        if current is not None:
            return _result(settings, versioned, current, "unchanged", started)
    server = versioned

    wheelhouse.download(lock.packages, fleet.target, settings.wheelhouse, reporter)
    local_wheels = {w.name: w for w in _local_wheels(find_links[1:])}
    wheels = []
    for package in lock.packages:
        source = (
            local_wheels[package.local].path if package.local else settings.wheelhouse / str(package.filename)
        )
        wheels.append(source)
        _link_or_copy(source, context / "wheels" / source.name)
    if not layered:
        own_wheel = server_wheel or locking.own_wheel(server, lock, settings.wheelhouse)
        declaration, runnables = _checked_start(server, own_wheel, wheels)
    local_hashes = {name: wheel.sha256 for name, wheel in local_wheels.items()}
    (context / "requirements.lock").write_text(lock.requirements(local_hashes), encoding="utf-8")
    baked_files.into_context(server, context)
    if server.declaration.system_packages:
        system_packages.into_context(
            client, settings, server.declaration.system_packages, context / "debs", reporter
        )
    (context / "Dockerfile").write_text(render_dockerfile(server), encoding="utf-8")

    labels = {
        identity.MANAGED: "true",
        identity.KIT_VERSION: __version__,
        identity.SERVER: server.name,
        identity.SERVER_VERSION: server.version,
        identity.PROJECT: identity.project_id(server.project_dir),
        identity.SOURCE_HASH: source_hash(server.path) if server.path else "",
        identity.BUILD_HASH: expected,
        identity.BASE_IMAGE: settings.base_image,
        identity.PYTHON: fleet.target.version,
        identity.DEPENDENCIES: "\n".join(f"{p.name}=={p.version}" for p in lock.packages),
    }
    guess = None if server.declaration.smoke.skip else tools_record.guess(client, image_tag(settings, server))
    labels |= {identity.TOOLS: guess} if guess else {}
    reporter.step(f"building the image ({len(lock.packages)} locked packages)")
    built = engine_build.classic_build(
        client, context, settings.base_image, reporter, network=server.declaration.build_network
    )
    if layered:
        with code_layer.installed(
            client, settings, fleet.target, built, server, labels, work, reporter
        ) as layer:
            own_wheel = layer.wheel
            declaration, runnables = _checked_start(server, own_wheel, wheels)
            added = expander_archive() if expands(declaration) else None
            image = code_layer.image(
                layer,
                entrypoint(declaration, runnables.scripts),
                declaration.args,
                declaration.image_env,
                added,
            )
    else:
        image = engine_build.configured(client, built, declaration, runnables.scripts, labels)
    if declaration.smoke.skip:
        reporter.step(f"smoke test skipped, as declared: {declaration.smoke.skip}")
        tools: list[str] = []
    else:
        smoke = _smoke_tested(
            client, settings, server, declaration, image, reporter, (own_wheel, wheels, lock)
        )
        tools = smoke.tools  # its record: a gateway answers with it before it starts the server
        image = tools_record.settled(client, image, guess, smoke.tools_record)
    repository, version = image_tag(settings, server).rsplit(":", 1)
    image.tag(repository, version)
    image.tag(repository, "latest")
    gc.prune_after_build(client, identity.project_id(server.project_dir), server.name, stage_key(server))
    return _result(settings, server, image, "built", started, tools)


def _smoke_tested(
    client: docker.DockerClient,
    settings: Settings,
    server: Server,
    declaration: ServerDeclaration,
    image: Image,
    reporter: Reporter,
    installed: tuple[Path, list[Path], Lock],
) -> SmokeResult:
    """The image's tools, once it answered as a client starts it (and the declared call succeeded); the image is
    removed when it did not."""
    reporter.step(f"smoke test: {declaration.smoke.describe()} over stdio, as a client starts it")
    try:
        smoke = smoke_test(
            probe_entry(settings, server, image=str(image.id), labels={identity.SMOKE_TEST: "true"}),
            declaration.smoke,
        )
        changes = schema_lock.check_snapshot(server, smoke.snapshot)
    except SmokeTestFailed as failure:
        _remove_quietly(client, str(image.id))
        raise diagnosis.diagnosed(failure, server, *installed) from None
    except KitError:
        _remove_quietly(client, str(image.id))
        raise
    reporter.step(f"{smoke.server_name} {smoke.server_version} answered with tools {', '.join(smoke.tools)}")
    if changes:
        reporter.step(f"schema changes against {schema_lock.LOCK_NAME}:\n{schema_lock.render(changes)}")
    return smoke


def _freshness(
    client: docker.DockerClient, fleet: _Fleet, server: Server, lock: Lock
) -> tuple[Server, str, Image | None]:
    """The server with its locked version, the build hash its image must carry, and its image when it carries
    that hash (never with --force)."""
    server = _versioned(server, lock)
    expected = freshness.build_hash(fleet.settings, server, fleet.base_id, lock)
    existing = None if fleet.force else engine.find_image(client, image_tag(fleet.settings, server))
    current = existing is not None and labels_of(existing).get(identity.BUILD_HASH) == expected
    return server, expected, existing if current else None


def _versioned(server: Server, lock: Lock) -> Server:
    """A package-index server's version is the one locked, unless its requirement pins it."""
    if server.package is None or server.version != "unlocked":
        return server
    return server.model_copy(update={"version": lock.version_of(server.distribution) or "unlocked"})


def _checked_start(
    server: Server, own_wheel: Path, wheels: list[Path]
) -> tuple[ServerDeclaration, wheelhouse.Runnables]:
    """The declaration completed with how the server starts, checked against what its wheels offer."""
    declaration = _completed(server, own_wheel)
    runnables = wheelhouse.runnables([own_wheel, *wheels])
    entrypoints.check_start(server, declaration, runnables)
    return declaration, runnables


def _completed(server: Server, own_wheel: Path) -> ServerDeclaration:
    """The declaration, with how to start filled in from the server's own wheel when it does not say."""
    if server.declaration.start:
        return server.declaration
    start = entrypoints.discover_start(server.distribution, own_wheel)
    return server.declaration.model_copy(update=start)


@dataclass(frozen=True)
class _LocalWheel:
    name: str
    path: Path
    sha256: str


def _local_wheels(folders: list[Path]) -> list[_LocalWheel]:
    found = []
    for folder in folders:
        for wheel in sorted(folder.glob("*.whl")):
            with wheel.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            found.append(_LocalWheel(parse_wheel_filename(wheel.name)[0], wheel, digest))
    return found


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except FileExistsError:
        pass
    except OSError:  # the cache and the context may sit on different filesystems
        shutil.copy2(source, destination)


def _remove_quietly(client: docker.DockerClient, image_id: str) -> None:
    with contextlib.suppress(APIError):
        client.images.remove(image_id, force=True)


def _result(
    settings: Settings,
    server: Server,
    image: Image,
    status: str,
    started: float,
    tools: list[str] | None = None,
) -> BuildResult:
    skipped = server.declaration.smoke.skip
    return BuildResult(
        server=server.name,
        tag=image_tag(settings, server),
        status=status,
        image_id=image.id,
        size_bytes=image.attrs.get("Size", 0),
        seconds=time.perf_counter() - started,
        dependencies=identity.dependencies_of(image),
        tools=tools or [],
        smoke=f"skipped: {skipped}" if skipped else "passed" if status == "built" else "passed when built",
    )
