"""`kit add` and `kit remove`: servers installed from the package index, recorded in mcpkit.toml.

Adding resolves the package for the base image's Python (the lock is written), finds how it starts from its own
metadata when not told, and checks that start exists: all before any image is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from kit import files
from kit.containers import engine
from kit.errors import KitError
from kit.image import bases, entrypoints, locking, schema_lock, wheelhouse
from kit.image.base_image import is_kit_base
from kit.project import locks, manifest
from kit.project.servers import SERVER_NAME, Server, discover, load_index_server, parse_requirement
from kit.project.settings import Settings
from kit.reporting import Reporter

_AFFIXES = ("mcp-server-", "mcp-", "-mcp-server", "-server-mcp", "-mcp", "-server")


@dataclass(frozen=True)
class Added:
    name: str
    package: str
    version: str
    start: dict[str, str]  # {"script": ...}, {"module": ...} or {"function": ...}
    dependencies: int
    manifest: Path
    lock: Path


def default_name(package: str) -> str:
    """mcp-server-time -> time, github-mcp -> github: the package name without the usual MCP affixes."""
    name = canonicalize_name(parse_requirement(package).name)
    for affix in _AFFIXES:
        trimmed = name.removeprefix(affix) if affix.endswith("-") else name.removesuffix(affix)
        if trimmed != name and SERVER_NAME.match(trimmed):
            return trimmed
    return name


def add_server(
    settings: Settings,
    table: dict[str, Any],
    reporter: Reporter,
    *,
    name: str | None = None,
    replace: bool = False,
) -> Added:
    """`table` is the [servers.NAME] table to write: package, pins, start, args, env, ... (see IndexDeclaration)."""
    package = str(table.get("package", ""))
    try:
        parse_requirement(package)
    except ValueError as exc:
        raise KitError(
            f"kit add: {exc}", hint='name a package as pip does: "mcp-server-time" or "name==1.2"'
        ) from None
    for requirement in [package, *table.get("pins", [])]:
        wheelhouse.require_wheel_only(requirement)
    name = name or default_name(package)
    if not SERVER_NAME.match(name):
        raise KitError(
            f"invalid server name {name!r}", hint="pass --name with lowercase letters, digits and dashes"
        )
    existing = {s.name: s for s in discover(settings)} if _is_project(settings) else {}
    if name in existing and not (replace and existing[name].package is not None):
        raise KitError(
            f"there is already a server named {name!r} ({existing[name].where})",
            hint="pick another --name" + (", or pass --replace" if existing[name].package else ""),
        )
    load_index_server(settings.project_dir, name, table)  # validates the table before any resolution
    with engine.connected() as client:
        if engine.find_image(client, settings.base_image) is None:
            raise KitError(
                f"base image {settings.base_image} does not exist yet",
                hint="`kit base` builds it (or set KIT_BASE_IMAGE); adding resolves for its Python",
            )
        default = wheelhouse.target_of(client, settings.base_image, settings.cache_dir)
    if "python" not in table:
        table = _with_the_python_it_needs(settings, table, default.short_version, reporter)
    server = load_index_server(settings.project_dir, name, table)
    server_settings = bases.server_settings(settings, server)
    bases.ensure(server_settings, reporter)
    with engine.connected() as client:
        target = wheelhouse.target_of(client, server_settings.base_image, settings.cache_dir)
    lock_file = locks.lock_path(settings.project_dir, name)
    previous = lock_file.read_text(encoding="utf-8") if lock_file.exists() else None
    try:
        lock = locking.lock_server(server, target, [settings.wheelhouse], reporter, upgrade=True)
        wheelhouse.download(lock.packages, target, settings.wheelhouse, reporter)
        wheels = [settings.wheelhouse / str(p.filename) for p in lock.packages]
        own = locking.own_wheel(server, lock, settings.wheelhouse)
        start = {
            key: table[key] for key in ("script", "module", "function") if table.get(key)
        } or entrypoints.discover_start(server.distribution, own)
        declaration = server.declaration.model_copy(update=start)
        entrypoints.check_start(server, declaration, wheelhouse.runnables(wheels))
    except BaseException:
        _restore(lock_file, previous)
        raise
    path = manifest.add_server(settings.project_dir, name, {**table, **start}, replace=replace)
    version = lock.version_of(server.distribution) or ""
    _say_why_not_the_newest(server, version, target, reporter)
    return Added(name, str(table["package"]), version, start, len(lock.packages), path, lock_file)


def _with_the_python_it_needs(
    settings: Settings, table: dict[str, Any], python: str, reporter: Reporter
) -> dict[str, Any]:
    """When the package's newest release does not run on the project's base, the Python of a kit base that takes
    it (`python = "3.13"`), rather than a release the resolver would fall back to, years older perhaps."""
    try:
        needed = bases.python_needed(str(table["package"]), python)
    except KitError:
        return table  # the index could not be asked: the resolution says what it finds
    if needed is None:
        return table
    version, requires = needed
    fitting = bases.python_for(requires) if is_kit_base(settings) else None
    if fitting is None:
        reporter.step(
            f"the newest release, {version}, needs Python {requires}, which no base the kit builds has: an older "
            f"release that runs on Python {python} is taken (a base with a newer Python, KIT_BASE_IMAGE, takes it)"
        )
        return table
    reporter.step(
        f"the newest release, {version}, needs Python {requires}: it is built on the base with Python {fitting} "
        f'({bases.for_suite(settings, bases.SUITES[fitting]).base_image}; python = "{fitting}")'
    )
    return {**table, "python": fitting}


def _say_why_not_the_newest(
    server: Server, version: str, target: wheelhouse.PythonTarget, reporter: Reporter
) -> None:
    """An older release than the newest was locked: why the newest was not (the resolver's own reason)."""
    try:
        newest = bases.newest_release(str(server.package))
    except KitError:
        return  # the index could not be asked
    if newest is None or not version or Version(version) >= Version(newest[0]):
        return
    try:
        wheelhouse.resolve(
            [f"{server.distribution}=={newest[0]}", *server.declaration.pins], target, [], reporter
        )
    except KitError as exc:
        reporter.step(
            f"{server.distribution} {version} was taken, not the newest, {newest[0]}: {exc.message}"
        )
        if exc.hint:
            reporter.step(f"for the newest: {exc.hint}")


def remove_server(settings: Settings, name: str) -> list[Path]:
    """Its [servers.NAME] table and its lock files; a folder server is the user's to delete."""
    servers = {s.name: s for s in discover(settings)}
    server: Server | None = servers.get(name)
    if server is not None and server.path is not None:
        raise KitError(
            f"{name} is the folder {server.path}, not a package-index server", hint="delete the folder"
        )
    removed = [manifest.remove_server(settings.project_dir, name)]
    for path in (
        locks.lock_path(settings.project_dir, name),
        *([schema_lock.lock_path(server)] if server is not None else []),
    ):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def _is_project(settings: Settings) -> bool:
    return settings.servers_path.is_dir() or (settings.project_dir / manifest.MANIFEST_NAME).is_file()


def _restore(path: Path, text: str | None) -> None:
    if text is None:
        path.unlink(missing_ok=True)
    else:
        files.write_atomically(path, text)
