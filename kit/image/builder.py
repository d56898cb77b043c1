"""`kit build`: one image per server, from host-resolved wheels, smoke-tested before it is tagged."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import APIError
from docker.models.images import Image

from kit import __version__, identity
from kit.containers import engine
from kit.containers.runargs import docker_run_args
from kit.errors import KitError
from kit.identity import dependencies_of, image_tag, labels_of
from kit.image import freshness, schema_lock, wheelhouse
from kit.image.base_image import is_kit_base
from kit.image.dockerfile import render_dockerfile
from kit.image.smoke import smoke_test
from kit.project.servers import Server, source_hash
from kit.project.settings import Settings
from kit.reporting import Reporter


@dataclass
class BuildResult:
    server: str
    tag: str
    image_id: str
    status: str  # "built" or "unchanged"
    size_bytes: int
    dependencies: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    seconds: float = 0.0


def build_servers(
    settings: Settings, servers: list[Server], reporter: Reporter, *, force: bool = False
) -> list[BuildResult]:
    with engine.connected() as client:
        return _build_all(client, settings, servers, reporter, force=force)


def _build_all(
    client: docker.DockerClient, settings: Settings, servers: list[Server], reporter: Reporter, *, force: bool
) -> list[BuildResult]:
    base = engine.find_image(client, settings.base_image)
    if base is None and is_kit_base(settings):
        raise KitError(
            f"base image {settings.base_image} does not exist yet",
            hint="build it with `kit base` (needs root and debootstrap), or set KIT_BASE_IMAGE=python:3.12-slim",
        )
    target: wheelhouse.PythonTarget | None = None
    results = []
    for server in servers:
        started = time.perf_counter()
        tag = image_tag(settings, server)
        build_hash = freshness.build_hash(settings, server, base.id if base else "")
        existing = engine.find_image(client, tag)
        if existing is not None and not force and labels_of(existing).get(identity.BUILD_HASH) == build_hash:
            reporter.step(f"{server.name}: unchanged, {tag} is up to date (`kit build --force` rebuilds)")
            results.append(_result(server, tag, existing, "unchanged", started))
            continue
        if target is None:
            target = wheelhouse.probe_python(client, settings.base_image)
            reporter.step(f"base {settings.base_image}: Python {target.version}, {target.platforms[0]}")
        image, tools = _build_one(client, settings, server, target, build_hash, reporter)
        results.append(_result(server, tag, image, "built", started, tools))
    return results


def _build_one(
    client: docker.DockerClient,
    settings: Settings,
    server: Server,
    target: wheelhouse.PythonTarget,
    build_hash: str,
    reporter: Reporter,
) -> tuple[Image, list[str]]:
    context = settings.cache_dir / "contexts" / server.name
    shutil.rmtree(context, ignore_errors=True)
    (context / "wheels").mkdir(parents=True)
    reporter.step(f"{server.name}: resolving dependencies for Python {target.short_version} on the host")
    server_wheel = wheelhouse.build_server_wheel(server.path, context / "wheels" / "server", reporter)
    # Built outside the context: a wheel present twice in the context tar (hard-linked) confuses the classic
    # builder's COPY cache, which then reuses a layer holding an older build of the same file name.
    local = settings.cache_dir / "local-wheels" / server.name
    shutil.rmtree(local, ignore_errors=True)
    for package in server.local_package_paths:
        wheelhouse.build_server_wheel(package, local, reporter)
    runtime = wheelhouse.runtime_wheel_dir(settings.cache_dir, reporter)
    locked = wheelhouse.resolve(server_wheel, target, [settings.wheelhouse, local, runtime], reporter)
    wheelhouse.download(locked, target, settings.wheelhouse, reporter)
    wheels = [server_wheel, *(w.local_path or settings.wheelhouse / w.filename for w in locked)]
    _check_module(server, wheelhouse.runnables(wheels))
    for wheel in locked:
        _link_or_copy(
            wheel.local_path or settings.wheelhouse / wheel.filename, context / "wheels" / wheel.filename
        )
    (context / "requirements.lock").write_text(
        "".join(w.requirement + "\n" for w in locked), encoding="utf-8"
    )
    (context / "Dockerfile").write_text(render_dockerfile(server), encoding="utf-8")

    dependencies = [f"{w.name}=={w.version}" for w in locked]
    labels = {
        identity.MANAGED: "true",
        identity.KIT_VERSION: __version__,
        identity.SERVER: server.name,
        identity.SERVER_VERSION: server.version,
        identity.SOURCE_HASH: source_hash(server.path),
        identity.BUILD_HASH: build_hash,
        identity.BASE_IMAGE: settings.base_image,
        identity.PYTHON: target.version,
        identity.DEPENDENCIES: "\n".join(dependencies),
    }
    reporter.step(f"{server.name}: building the image ({len(locked)} locked dependencies)")
    image_id = _stream_build(client, context, settings.base_image, labels, reporter)
    reporter.step(f"{server.name}: smoke test (MCP handshake and tools/list over stdio)")
    args = docker_run_args(server, image_id, extra_labels={identity.SMOKE_TEST: "true"})
    try:
        smoke = smoke_test(settings.docker_command, args)
    except KitError:
        _remove_quietly(client, image_id)
        raise
    reporter.step(
        f"{server.name}: {smoke.server_name} {smoke.server_version} answered with tools {smoke.tools}"
    )
    try:
        changes = schema_lock.check_snapshot(server.name, server.path, smoke.snapshot)
    except KitError:
        _remove_quietly(client, image_id)
        raise
    if changes:
        reporter.step(
            f"{server.name}: schema changes against {schema_lock.LOCK_NAME}:\n{schema_lock.render(changes)}"
        )
    image = client.images.get(image_id)
    tag = image_tag(settings, server)
    repository, version = tag.rsplit(":", 1)
    image.tag(repository, version)
    image.tag(repository, "latest")
    return client.images.get(tag), smoke.tools


def _check_module(server: Server, found: wheelhouse.Runnables) -> None:
    """`python -m MODULE` must be able to start: checked in the wheels, before the image is built."""
    module = server.declaration.module
    if module not in found.modules:
        raise KitError(
            f"{server.name}: `python -m {module}` cannot start: no module {module!r} in the server or its "
            f"dependencies (what they can start: {found.describe()})",
            hint=f"set module under [tool.mcpkit] in {server.path / 'pyproject.toml'} to one of those",
        )


def _stream_build(
    client: docker.DockerClient, context: Path, base_image: str, labels: dict[str, str], reporter: Reporter
) -> str:
    image_id = None
    tail: list[str] = []
    try:
        stream = client.api.build(
            path=str(context),
            buildargs={"BASE_IMAGE": base_image},
            labels=labels,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                for line in chunk["stream"].splitlines():
                    if line.strip():
                        reporter.detail(line)
                        tail = [*tail[-29:], line]
            if "error" in chunk:
                raise KitError(
                    f"image build failed: {chunk['error'].strip()}\n" + "\n".join(tail[-15:]),
                    hint="the build runs without network; every dependency must come from the wheelhouse",
                )
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
    except APIError as exc:
        raise KitError(f"the Docker engine refused the build: {exc.explanation or exc}") from None
    if image_id is None:
        raise KitError("the build finished without producing an image:\n" + "\n".join(tail[-15:]))
    return image_id


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:  # the cache and the context may sit on different filesystems
        shutil.copy2(source, destination)


def _remove_quietly(client: docker.DockerClient, image_id: str) -> None:
    with contextlib.suppress(APIError):
        client.images.remove(image_id, force=True)


def _result(
    server: Server,
    tag: str,
    image: Image,
    status: str,
    started: float,
    tools: list[str] | None = None,
) -> BuildResult:
    return BuildResult(
        server=server.name,
        tag=tag,
        image_id=image.id,
        status=status,
        size_bytes=image.attrs.get("Size", 0),
        dependencies=dependencies_of(image),
        tools=tools or [],
        seconds=time.perf_counter() - started,
    )
