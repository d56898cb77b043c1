"""A server's lock: resolved on the host for the base image's Python, written to locks/NAME.lock, and reused until
something it was resolved from changes (requirements, pins, local package sources, the target interpreter)."""

from __future__ import annotations

import hashlib
import json
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from kit.containers import engine
from kit.errors import KitError
from kit.image import bases, source_build, wheelhouse
from kit.image.wheelhouse import PythonTarget
from kit.project import locks
from kit.project.locks import Lock
from kit.project.servers import Server
from kit.project.settings import Settings
from kit.project.sources import source_hash
from kit.reporting import Reporter
from kit.resources import runtime_distribution


def fingerprint(server: Server, target: PythonTarget) -> str:
    """What the lock is resolved from, and nothing else: the target, the pins, the requirement or the folder's
    declared dependencies, and each local package's name, version and dependencies (not its code: a code change
    resolves to the same lock, and the image's build hash follows the code)."""
    parts = [target.describe(), *server.declaration.pins]
    if server.package is not None:
        parts.append(server.package)
    else:
        assert server.path is not None
        parts.append(_declared_requirements(server.path))
        parts += [_declared_package(p) for p in server.local_package_paths]
        parts.append(_runtime_package())
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def current_lock(server: Server, target: PythonTarget) -> Lock | None:
    """The lock on disk if it still matches what it was resolved from."""
    lock = locks.read(locks.lock_path(server.project_dir, server.name))
    return lock if lock is not None and lock.fingerprint == fingerprint(server, target) else None


def lock_server(
    server: Server,
    target: PythonTarget,
    find_links: list[Path],
    reporter: Reporter,
    *,
    server_wheel: Path | None = None,
    upgrade: bool = False,
) -> Lock:
    """Resolve and write the lock. Without `upgrade`, the versions already locked are kept where they still fit."""
    path = locks.lock_path(server.project_dir, server.name)
    old = locks.read(path)
    requirements = [str(server_wheel) if server_wheel else str(server.package), *server.declaration.pins]
    keep = (
        [] if upgrade or old is None else [f"{p.name}=={p.version}" for p in old.packages if p.local is None]
    )
    reporter.step(f"resolving the dependencies of {server.name} for {target.describe()}")
    try:
        packages = wheelhouse.resolve(
            requirements, target, find_links, reporter, constraints=keep, exclude=server_wheel
        )
    except KitError:
        if not keep:
            raise
        reporter.step(f"{server.name}: the locked versions no longer fit; resolving anew")
        packages = wheelhouse.resolve(requirements, target, find_links, reporter, exclude=server_wheel)
    lock = Lock(server.name, target.describe(), fingerprint(server, target), packages)
    locks.write(path, lock)
    return lock


def host_wheels(
    settings: Settings,
    server: Server,
    target: PythonTarget,
    runtime: Path | None,
    *,
    server_dir: Path,
    local_dir: Path,
    reporter: Reporter,
    own: bool = True,
) -> tuple[Path | None, list[Path]]:
    """A folder server's own wheel (in `server_dir`; not built without `own`) and its local packages' (in
    `local_dir`), built in a container (their build runs their code); and where a resolution or an install finds
    every wheel: the wheelhouse, those local wheels, the runtime's."""
    server_wheel = None
    if server.path is not None:
        if own:
            server_wheel = source_build.build_wheel(settings, target, server.path, server_dir, reporter)
        for folder in server.local_package_paths:
            source_build.build_wheel(settings, target, folder, local_dir, reporter)
    return server_wheel, [settings.wheelhouse, local_dir, *([runtime] if runtime else [])]


def own_wheel(server: Server, lock: Lock, wheels: Path) -> Path:
    """A package-index server's own wheel, as locked."""
    package = lock.package_of(server.distribution)
    if package is None or package.filename is None:
        raise KitError(
            f"{server.name}: {server.distribution} is not among what {server.package} resolved to",
            hint=f"`kit lock {server.name} --upgrade`",
        )
    return wheels / package.filename


def _declared_requirements(path: Path) -> str:
    """What a folder server asks for: its [project] dependencies (the whole pyproject when they are dynamic)."""
    text = (path / "pyproject.toml").read_text(encoding="utf-8")
    project = tomllib.loads(text).get("project", {})
    if "dependencies" in project.get("dynamic", []):
        return text
    return json.dumps([project.get("dependencies", []), project.get("requires-python", "")])


def _declared_package(path: Path) -> str:
    """A local package as a lock records it: its name, version and dependencies (its sources when its version is
    read from a file)."""
    project = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    version = project.get("version") or source_hash(path)
    return json.dumps([project.get("name", ""), version, _declared_requirements(path)])


def _runtime_package() -> str:
    """The runtime as a lock records it, from its installed metadata (editable or not)."""
    runtime = runtime_distribution()
    # Its optional extras (the gateway's observability) are resolved only for an image that asks for them (the
    # deployed gateway's `mcpkit-runtime[observe]`, part of that server's own declared requirements), not for every
    # server's lock. Left out: a change to the extra's own requirements does not make such a lock stale by itself.
    required = [r for r in runtime.requires or [] if "extra" not in str(Requirement(r).marker or "")]
    return json.dumps([runtime.metadata["Name"], runtime.version, sorted(required)])


@dataclass(frozen=True)
class LockReport:
    server: str
    path: str
    packages: int
    status: str  # "locked", "updated" or "up to date"


def lock_servers(
    settings: Settings, servers: list[Server], reporter: Reporter, *, upgrade: bool = False
) -> list[LockReport]:
    """`kit lock`: each server's lock brought up to date (resolved anew with `upgrade`)."""
    runtime = (
        wheelhouse.runtime_wheel_dir(settings.cache_dir, reporter) if any(s.path for s in servers) else None
    )
    reports = []
    for server in servers:
        if server.image is not None:  # run as it is: nothing of it is resolved
            reports.append(LockReport(server.name, "", 0, "prebuilt image, nothing to lock"))
            continue
        server_settings = bases.server_settings(settings, server)
        with engine.connected() as client:
            target = wheelhouse.target_of(client, server_settings.base_image, settings.cache_dir)
        path = locks.lock_path(server.project_dir, server.name)
        before = path.read_text(encoding="utf-8") if path.exists() else None
        lock = None if upgrade else current_lock(server, target)
        if lock is None:
            with tempfile.TemporaryDirectory(prefix="mcpkit-lock-") as scratch:
                wheel, find_links = host_wheels(
                    server_settings, server, target, runtime, server_dir=Path(scratch) / "server",
                    local_dir=Path(scratch) / "local", reporter=reporter,
                )  # fmt: skip
                lock = lock_server(server, target, find_links, reporter, server_wheel=wheel, upgrade=upgrade)
        after = path.read_text(encoding="utf-8")
        status = "locked" if before is None else ("up to date" if before == after else "updated")
        reports.append(LockReport(server.name, str(path), len(lock.packages), status))
    return reports
