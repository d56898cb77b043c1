"""Versioned tool schemas: `kit schema lock` records what a server exposes; `kit schema check` (and `kit build`)
refuse a breaking change unless the tool was renamed (get_weather -> get_weather_v2) or the major version bumped."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import files
from kit.errors import KitError
from kit.project.locks import LOCKS_DIR
from kit.project.servers import Server

LOCK_NAME = "mcp-schema.lock.json"


@dataclass(frozen=True)
class Change:
    tool: str
    detail: str
    breaking: bool


def lock_path(server: Server) -> Path:
    """Beside a folder server's sources; in the project's locks/ for a package-index server."""
    if server.path is not None:
        return server.path / LOCK_NAME
    return server.project_dir / LOCKS_DIR / f"{server.name}.{LOCK_NAME}"


def read_lock(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise KitError(
            f"{path} is not valid JSON ({exc.msg})", hint="regenerate it with `kit schema lock`"
        ) from None


def write_lock(path: Path, snapshot: dict[str, Any]) -> None:
    files.write_atomically(path, json.dumps(snapshot, indent=2, sort_keys=True) + "\n")


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    old_tools, new_tools = old.get("tools", {}), new.get("tools", {})
    for name in sorted(set(old_tools) - set(new_tools)):
        successor = next((n for n in new_tools if re.fullmatch(rf"{re.escape(name)}_v\d+", n)), None)
        if successor:
            changes.append(Change(name, f"renamed to {successor}", breaking=False))
        else:
            changes.append(Change(name, "tool removed", breaking=True))
    for name in sorted(set(new_tools) - set(old_tools)):
        changes.append(Change(name, "tool added", breaking=False))
    for name in sorted(set(old_tools) & set(new_tools)):
        changes += _input_changes(
            name, old_tools[name].get("input_schema") or {}, new_tools[name].get("input_schema") or {}
        )
        changes += _output_changes(
            name, old_tools[name].get("output_schema"), new_tools[name].get("output_schema")
        )
    for uri in sorted(set(old.get("resources", [])) - set(new.get("resources", []))):
        changes.append(Change(uri, "resource removed", breaking=True))
    for uri in sorted(set(new.get("resources", [])) - set(old.get("resources", []))):
        changes.append(Change(uri, "resource added", breaking=False))
    return changes


def breaking_allowed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """A bumped major version announces breaking changes."""
    return _major(new.get("version", "0")) > _major(old.get("version", "0"))


def _major(version: str) -> int:
    match = re.match(r"\d+", str(version))
    return int(match.group()) if match else 0


def _input_changes(tool: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for param in sorted(set(old_props) - set(new_props)):
        changes.append(Change(tool, f"parameter '{param}' removed", breaking=True))
    for param in sorted(set(new_props) - set(old_props)):
        required = param in new_required
        changes.append(
            Change(
                tool, f"{'required' if required else 'optional'} parameter '{param}' added", breaking=required
            )
        )
    for param in sorted(set(old_props) & set(new_props)):
        if param in new_required and param not in old_required:
            changes.append(Change(tool, f"parameter '{param}' became required", breaking=True))
        narrowed = _narrowed(_types(old_props[param], old), _types(new_props[param], new))
        if narrowed:
            changes.append(Change(tool, f"parameter '{param}' narrowed: {narrowed}", breaking=True))
        elif _types(old_props[param], old) != _types(new_props[param], new):
            changes.append(Change(tool, f"parameter '{param}' widened", breaking=False))
    return changes


def _output_changes(tool: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Change]:
    if not old:
        return [Change(tool, "output schema added", breaking=False)] if new else []
    if not new:
        return [Change(tool, "output schema removed", breaking=True)]
    removed = sorted(set(old.get("properties", {})) - set(new.get("properties", {})))
    added = sorted(set(new.get("properties", {})) - set(old.get("properties", {})))
    return [Change(tool, f"output field '{f}' removed", breaking=True) for f in removed] + [
        Change(tool, f"output field '{f}' added", breaking=False) for f in added
    ]


def _types(prop: dict[str, Any], schema: dict[str, Any]) -> tuple[frozenset[str], frozenset[str] | None]:
    """The JSON types a property accepts, and its enum values (None: unrestricted)."""
    if "$ref" in prop:
        prop = schema.get("$defs", {}).get(prop["$ref"].split("/")[-1], {})
    if "anyOf" in prop:
        parts = [_types(p, schema) for p in prop["anyOf"]]
        kinds = frozenset().union(*(k for k, _ in parts))
        enums = None if any(e is None for _, e in parts) else frozenset().union(*(e for _, e in parts if e))
        return kinds, enums
    kind = prop.get("type", "any")
    kinds = frozenset(kind if isinstance(kind, list) else [kind])
    enum = frozenset(map(str, prop["enum"])) if "enum" in prop else None
    return kinds, enum


def _narrowed(
    old: tuple[frozenset[str], frozenset[str] | None], new: tuple[frozenset[str], frozenset[str] | None]
) -> str:
    (old_kinds, old_enum), (new_kinds, new_enum) = old, new
    if "any" not in new_kinds and not old_kinds <= new_kinds:
        return f"type {'/'.join(sorted(old_kinds))} -> {'/'.join(sorted(new_kinds))}"
    if new_enum is not None and (old_enum is None or not old_enum <= new_enum):
        lost = sorted((old_enum or frozenset({"any value"})) - new_enum)
        return f"values no longer accepted: {', '.join(lost)}"
    return ""


def render(changes: list[Change]) -> str:
    return "\n".join(f"  {'BREAKING' if c.breaking else 'ok      '}  {c.tool}: {c.detail}" for c in changes)


def check_snapshot(server: Server, snapshot: dict[str, Any]) -> list[Change]:
    """The changes against the lock file (none when there is no lock); a KitError on an unannounced break."""
    name = server.name
    old = read_lock(lock_path(server))
    if old is None:
        return []
    changes = diff(old, snapshot)
    if any(c.breaking for c in changes) and not breaking_allowed(old, snapshot):
        raise KitError(
            f"breaking change(s) to the tools of {name} (locked at version {old.get('version')}):\n"
            + render(changes),
            hint=f"keep the old tool and add a renamed one (e.g. TOOL_v2), or bump {name}'s major version; "
            "if the change is intended and announced, record it with `kit schema lock`",
        )
    return changes
