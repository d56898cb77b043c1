"""`kit schema lock|check`: the tools a built image exposes, against the lock file committed beside the server."""

from __future__ import annotations

from dataclasses import dataclass

from kit.containers import engine
from kit.containers.launch import probe_entry
from kit.errors import KitError
from kit.image import schema_lock
from kit.image.freshness import build_state
from kit.image.smoke import smoke_test
from kit.project.servers import Server
from kit.project.settings import Settings


@dataclass(frozen=True)
class SchemaReport:
    server: str
    lock: str
    changes: list[schema_lock.Change]
    written: bool


def _snapshot(settings: Settings, server: Server) -> dict[str, object]:
    with engine.connected() as client:
        state, _ = build_state(client, settings, server)
    if state != "current":
        raise KitError(f"the image of {server.name} is {state}", hint=f"run `kit build {server.name}` first")
    return smoke_test(probe_entry(settings, server)).snapshot


def lock(settings: Settings, servers: list[Server]) -> list[SchemaReport]:
    reports = []
    for server in servers:
        snapshot = _snapshot(settings, server)
        path = schema_lock.lock_path(server)
        old = schema_lock.read_lock(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        schema_lock.write_lock(path, snapshot)
        changes = schema_lock.diff(old, snapshot) if old else []
        reports.append(SchemaReport(server.name, str(path), changes, written=True))
    return reports


def check(settings: Settings, servers: list[Server]) -> list[SchemaReport]:
    """Raises KitError on the first server with an unannounced breaking change."""
    reports = []
    for server in servers:
        path = schema_lock.lock_path(server)
        if not path.exists():
            raise KitError(
                f"{server.name} has no {schema_lock.LOCK_NAME}",
                hint=f"record one: `kit schema lock {server.name}`",
            )
        changes = schema_lock.check_snapshot(server, _snapshot(settings, server))
        reports.append(SchemaReport(server.name, str(path), changes, written=False))
    return reports
