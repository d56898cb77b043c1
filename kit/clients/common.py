"""What every client shares: the launch entry the kit builds once, a client's description (where its file is, in
which format, where entries go, how one is shaped), and the one merge that installs and uninstalls entries in any
client's file without damaging it."""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kit import files
from kit.clients.formats import FileFormat, FormatError
from kit.containers.launch import LaunchEntry as LaunchEntry  # where client modules find it
from kit.errors import KitError
from kit.identity import MANAGED

Scope = Literal["user", "project"]
KIT_MARK = f"{MANAGED}=true"  # in every entry's docker arguments: how the kit recognises its own entries


@dataclass(frozen=True)
class Machine:
    """What client paths depend on; the tests pass other values than this machine's."""

    platform: str
    environ: Mapping[str, str]
    home: Path

    @classmethod
    def current(cls) -> Machine:
        return cls(sys.platform, dict(os.environ), Path.home())

    @property
    def windows(self) -> bool:
        return self.platform.startswith("win")

    @property
    def mac(self) -> bool:
        return self.platform == "darwin"

    def xdg_config(self) -> Path:
        return Path(self.environ.get("XDG_CONFIG_HOME") or self.home / ".config")

    def appdata(self) -> Path:
        return Path(self.environ.get("APPDATA") or self.home / "AppData" / "Roaming")

    def app_support(self) -> Path:
        return self.home / "Library" / "Application Support"


@dataclass(frozen=True)
class Client:
    name: str  # the --client name
    display_name: str
    format: FileFormat
    section: tuple[str, ...]  # keys from the top of the file to the entries
    render: Callable[[LaunchEntry], dict[str, Any]]  # one entry, as this client reads it
    user_file: Callable[[Machine], Path]
    project_file: str | None = None  # relative to the project folder, for clients with a project scope
    docs: str = ""  # the client's own documentation of this format
    homes: Callable[[Machine], list[Path]] | None = None  # folders whose presence means it is installed
    new_file: str | None = None  # the text a new file starts from (default: the format's empty document)
    scopes: tuple[Scope, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes", ("user", "project") if self.project_file else ("user",))

    def path(self, scope: Scope, machine: Machine, project_dir: Path) -> Path:
        if scope == "project":
            if self.project_file is None:
                raise KitError(f"{self.display_name} has no project scope", hint="use --scope user")
            return project_dir / self.project_file
        return self.user_file(machine)

    def installed(self, machine: Machine) -> bool:
        folders = self.homes(machine) if self.homes else [self.user_file(machine).parent]
        return any(folder.is_dir() for folder in folders)

    def entries_in(self, data: dict[str, Any]) -> dict[str, Any]:
        """The name -> entry mapping of a parsed file (a list keyed by name, for some clients)."""
        node: Any = data
        for key in self.section:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, list):
            key = self.format.list_key or "name"
            return {str(item.get(key)): item for item in node if isinstance(item, dict)}
        return dict(node) if isinstance(node, dict) else {}


def stdio_entry(launch: LaunchEntry, **extra: Any) -> dict[str, Any]:
    """{command, args, env} (env only when it holds values), with a client's extra keys first."""
    rendered: dict[str, Any] = {**extra, "command": launch.command, "args": list(launch.args)}
    if launch.env:
        rendered["env"] = dict(launch.env)
    return rendered


def is_kit_entry(entry: Any) -> bool:
    if isinstance(entry, dict):
        return any(is_kit_entry(v) for v in entry.values())
    if isinstance(entry, list):
        return any(is_kit_entry(v) for v in entry)
    return isinstance(entry, str) and entry == KIT_MARK


@dataclass(frozen=True)
class ConfigChange:
    client: str
    path: Path
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]
    diff: str
    written: bool
    backup: Path | None


def read_config(client: Client, path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and data; an absent or empty file is an empty config, a malformed one an error."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    base = _editable(client, text)
    try:
        return text, client.format.parse(base) if base.strip() else {}
    except FormatError as exc:
        raise _unreadable(path, exc) from None


def kit_entries(client: Client, path: Path) -> dict[str, dict[str, Any]]:
    """The kit's entries in the client's file at `path`, by name."""
    return {name: e for name, e in client.entries_in(read_config(client, path)[1]).items() if is_kit_entry(e)}


def _editable(client: Client, text: str) -> str:
    """What an edit starts from: the file's text, or the client's new file when it has none."""
    return text if text.strip() else (client.new_file or client.format.empty())


def _unreadable(path: Path, exc: FormatError) -> KitError:
    return KitError(
        f"{path} is {exc}; it was left untouched",
        hint="fix the file by hand (or move it aside) and run the command again",
    )


def apply_change(
    client: Client,
    path: Path,
    entries: list[LaunchEntry],
    *,
    dry_run: bool,
    uninstall: bool = False,
) -> ConfigChange:
    """Install (or with `uninstall`, remove) the kit's entries in the file at `path`: every other entry and setting
    kept, the file replaced atomically with a timestamped backup, nothing written when nothing changes."""
    try:
        return _apply(client, path, entries, dry_run=dry_run, uninstall=uninstall)
    except FormatError as exc:
        raise _unreadable(path, exc) from None


def _apply(
    client: Client, path: Path, entries: list[LaunchEntry], *, dry_run: bool, uninstall: bool
) -> ConfigChange:
    before, data = read_config(client, path)
    existing = client.entries_in(data)
    text = _editable(client, before)
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    removed: list[str] = []
    if uninstall:
        wanted = {e.name for e in entries}
        for name, entry in existing.items():
            if is_kit_entry(entry) and (not wanted or name in wanted):
                text = client.format.delete(text, client.section, name)
                removed.append(name)
        if removed and not client.entries_in(client.format.parse(text)) and client.section:
            text = client.format.delete(text, client.section[:-1], client.section[-1])  # the kit made it
    else:
        foreign = [e.name for e in entries if e.name in existing and not is_kit_entry(existing[e.name])]
        if foreign:
            raise KitError(
                f"{path} already has an entry named {', '.join(foreign)} that the kit did not write; "
                "it was left untouched",
                hint="rename or remove that entry, or configure only the other servers",
            )
        # Going backwards where new entries go first leaves them in the given order.
        ordered = reversed(entries) if client.format.inserts_first else iter(entries)
        for launch in ordered:
            rendered = client.render(launch)
            if existing.get(launch.name) == rendered:
                unchanged.append(launch.name)
                continue
            (updated if launch.name in existing else added).append(launch.name)
            text = client.format.upsert(text, client.section, launch.name, rendered)
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), text.splitlines(keepends=True), str(path), str(path)
        )
    )
    change = ConfigChange(
        client.name, path, sorted(added), sorted(updated), sorted(unchanged), removed, diff, False, None
    )
    if dry_run or text == before or not (added or updated or removed):
        return change
    _check_writable(path)
    backup = files.backup(path) if path.exists() else None
    files.write_atomically(path, text, expected=before)
    return dataclasses.replace(change, written=True, backup=backup)


def _check_writable(path: Path) -> None:
    # The permission bits too: root could write anyway, but a file marked read-only is not the kit's to change.
    if path.exists() and (not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222):
        raise KitError(
            f"{path} is read-only; it was left untouched", hint="make it writable, or use --dry-run"
        )
    folder = path.parent if path.parent.exists() else next(p for p in path.parents if p.exists())
    if not os.access(folder, os.W_OK):
        raise KitError(
            f"cannot write in {folder}; {path} was left untouched", hint="check the folder's permissions"
        )
