"""The project manifest, mcpkit.toml: `[kit]` settings and `[servers.NAME]` package-index servers.

Read with the standard library; edited with tomlkit, so the user's comments, order and formatting survive
`kit add` and `kit remove`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.items

from kit import files
from kit.errors import KitError

MANIFEST_NAME = "mcpkit.toml"
# The order keys are written in: what it is, how it starts, then how it runs.
_KEY_ORDER = [
    "package", "image", "python", "pins", "system-packages", "script", "module", "function", "command", "args", "network", "env", "secrets", "files", "volumes",
    "image-env", "limits", "smoke",
]  # fmt: skip


def read(project_dir: Path) -> dict[str, Any]:
    path = project_dir / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise KitError(f"{path} is not valid TOML: {exc}", hint="fix the file by hand") from None


def kit_table(project_dir: Path) -> dict[str, Any]:
    return _table(read(project_dir), "kit", project_dir)


def server_tables(project_dir: Path) -> dict[str, dict[str, Any]]:
    tables = _table(read(project_dir), "servers", project_dir)
    bad = [name for name, table in tables.items() if not isinstance(table, dict)]
    if bad:
        raise KitError(f"[servers] in {project_dir / MANIFEST_NAME}: {', '.join(bad)} must be tables")
    return tables


def add_server(project_dir: Path, name: str, table: dict[str, Any], *, replace: bool = False) -> Path:
    """Write [servers.NAME] (after the others), keeping everything else in the file as it was."""
    path = project_dir / MANIFEST_NAME
    document = _load_for_edit(path)
    servers = document.get("servers")
    if servers is None:
        servers = tomlkit.table(is_super_table=True)
        document.add("servers", servers)
    if name in servers and not replace:
        raise KitError(
            f"[servers.{name}] already exists in {path}",
            hint=f"`kit remove {name}` first, or pick another --name",
        )
    entry = tomlkit.table()
    for key in sorted(table, key=lambda k: _KEY_ORDER.index(k) if k in _KEY_ORDER else len(_KEY_ORDER)):
        value = table[key]
        if isinstance(value, dict) and key != "limits":
            inline = tomlkit.inline_table()
            inline.update(value)
            entry.add(key, inline)
        else:
            entry.add(key, value)
    servers[name] = entry  # replaces in place, or adds at the end
    files.write_atomically(path, tomlkit.dumps(document).rstrip("\n") + "\n")
    return path


def remove_server(project_dir: Path, name: str) -> Path:
    path = project_dir / MANIFEST_NAME
    document = _load_for_edit(path)
    servers = document.get("servers")
    if servers is None or name not in servers:
        raise KitError(
            f"no [servers.{name}] in {path}", hint="`kit list` shows the servers and where each is declared"
        )
    del servers[name]
    if not servers:
        del document["servers"]
    files.write_atomically(path, tomlkit.dumps(document).rstrip("\n") + "\n")
    return path


def _load_for_edit(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except tomlkit.exceptions.ParseError as exc:
        raise KitError(
            f"{path} is not valid TOML ({exc}); it was left untouched", hint="fix it by hand"
        ) from None


def _table(data: dict[str, Any], key: str, project_dir: Path) -> dict[str, Any]:
    section = data.get(key, {})
    if not isinstance(section, dict):
        raise KitError(f"[{key}] in {project_dir / MANIFEST_NAME} must be a table")
    return section
