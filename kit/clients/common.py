"""What every client format shares: launch entries, and a safe merge into the user's existing file."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import files
from kit.errors import KitError


@dataclass(frozen=True)
class LaunchEntry:
    """How a client starts one server: a command line plus the values for the variables it passes by name."""

    name: str
    command: str
    args: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class ClientFormat:
    name: str
    display_name: str
    default_path: Callable[
        [str, Mapping[str, str], Path], Path
    ]  # (sys.platform, environ, home) -> config file
    render: Callable[[list[LaunchEntry]], dict[str, Any]]  # entries -> the fragment the kit owns
    merge: Callable[[dict[str, Any], list[LaunchEntry]], dict[str, Any]]  # existing file -> updated file
    section: Callable[[dict[str, Any]], dict[str, Any]]  # a whole file -> its name-to-server mapping


@dataclass(frozen=True)
class ConfigChange:
    path: Path
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    diff: str
    written: bool
    backup: Path | None


def read_json_config(path: Path) -> dict[str, Any]:
    """The user's config as a dict; an absent or empty file is an empty config, a malformed one an error."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KitError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); it was left untouched",
            hint="fix the file by hand (or move it aside) and run the command again",
        ) from None
    if not isinstance(data, dict):
        raise KitError(f"{path} must hold a JSON object at the top level; it was left untouched")
    return data


def apply_change(
    path: Path, entries: list[LaunchEntry], client: ClientFormat, *, dry_run: bool
) -> ConfigChange:
    """Merge entries into the file at `path`: atomically, with a timestamped backup, every other entry kept."""
    before_text = path.read_text(encoding="utf-8") if path.exists() else ""
    before = read_json_config(path)
    after = client.merge(before, entries)
    after_text = json.dumps(after, indent=2, ensure_ascii=False) + "\n"
    old_section, new_section = client.section(before), client.section(after)
    names = [e.name for e in entries]
    added = [n for n in names if n not in old_section]
    updated = [n for n in names if n in old_section and old_section[n] != new_section[n]]
    unchanged = [n for n in names if n in old_section and old_section[n] == new_section[n]]
    diff = "".join(
        difflib.unified_diff(
            before_text.splitlines(keepends=True), after_text.splitlines(keepends=True), str(path), str(path)
        )
    )
    if dry_run or after_text == before_text:
        return ConfigChange(path, added, updated, unchanged, diff, written=False, backup=None)
    backup = files.backup(path) if path.exists() else None
    files.write_atomically(path, after_text)
    return ConfigChange(path, added, updated, unchanged, diff, written=True, backup=backup)
