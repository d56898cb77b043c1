"""What every client shares: the launch entry the kit builds once, a client's description (where its file is, in
which format, where entries go, how one is shaped), and the one merge that installs and uninstalls entries in any
client's file without damaging it."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import stat
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

Scope = Literal["user", "project", "local"]
BACKUPS_KEPT = 3  # per file: the file as it was before the kit's entries came, and the latest ones
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
    # where a project's own entries go inside the user's file (Claude Code's local scope), for the project folder
    local_section: Callable[[Path], tuple[str, ...]] | None = None
    scopes: tuple[Scope, ...] = field(init=False)

    def __post_init__(self) -> None:
        scopes: list[Scope] = ["user"]
        scopes += ["project"] if self.project_file else []
        scopes += ["local"] if self.local_section else []
        object.__setattr__(self, "scopes", tuple(scopes))

    def path(self, scope: Scope, machine: Machine, project_dir: Path) -> Path:
        if scope not in self.scopes:
            raise KitError(f"{self.display_name} has no {scope} scope", hint="use --scope user")
        if scope == "project":
            return project_dir / (self.project_file or "")
        return self.user_file(machine)

    def scoped(self, scope: Scope, project_dir: Path) -> Client:
        """This client with its entries where `scope` puts them (the local scope: under the project's key)."""
        if scope != "local" or self.local_section is None:
            return self
        return dataclasses.replace(self, section=self.local_section(project_dir.resolve()))

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
    warnings: list[str] = field(default_factory=list)


def read_config(client: Client, path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text (LF line endings, no byte-order mark) and data; an absent or empty file is an empty config,
    a malformed one an error."""
    text = files.read(path).text
    try:
        return text, _parse(client, text)
    except FormatError as exc:
        raise _unreadable(path, exc) from None


def _parse(client: Client, text: str) -> dict[str, Any]:
    base = _editable(client, text)
    return client.format.parse(base) if base.strip() else {}


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
    private: bool = False,
) -> ConfigChange:
    """Install (or with `uninstall`, remove) the kit's entries in the file at `path`: every other entry and setting
    kept, the file replaced atomically with a timestamped backup, nothing written when nothing changes. With
    `private`, the file (and its backups) become readable by its owner alone."""
    try:
        return _apply(client, path, entries, dry_run=dry_run, uninstall=uninstall, private=private)
    except FormatError as exc:
        raise _unreadable(path, exc) from None


def _apply(
    client: Client, path: Path, entries: list[LaunchEntry], *, dry_run: bool, uninstall: bool, private: bool
) -> ConfigChange:
    stored = files.read(path)
    before = stored.text
    data = _parse(client, before)
    existing = client.entries_in(data)
    text = _editable(client, before)
    expected: dict[str, Any] = dict(existing)  # the entries the new text must hold
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    removed: list[str] = []
    if uninstall:
        wanted = {e.name for e in entries}
        for name, entry in reversed(existing.items()):  # last first: the inverse of the installs
            if is_kit_entry(entry) and (not wanted or name in wanted):
                text = client.format.delete(text, client.section, name)
                removed.insert(0, name)
                del expected[name]
        if removed and not client.entries_in(_parse(client, text)) and client.section:
            text = _emptied(client, path, text)
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
            expected[launch.name] = rendered
    if text != before:
        _check_kept(client, _parse(client, _editable(client, before)), text, expected)
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), text.splitlines(keepends=True), str(path), str(path)
        )
    )
    change = ConfigChange(
        client.name, path, sorted(added), sorted(updated), sorted(unchanged), removed, diff, False, None
    )
    secrets = sorted({n for e in entries for n in e.env} if not uninstall else set())
    if dry_run:
        return dataclasses.replace(change, warnings=_exposed(path, secrets, private))
    written, backup = False, None
    if text != before and (added or updated or removed):
        _check_writable(path)
        mode = 0o600 if private else None
        backup = files.backup(path, mode=mode) if path.exists() and not uninstall else None
        files.write_atomically(path, stored.encode(text), expected=stored.encode(before), mode=mode)
        _tidy_backups(client, path, uninstall=uninstall)
        written = True
    if private and path.exists():
        for copy in [path, *files.backups(path)]:
            _narrow(copy)
    return dataclasses.replace(
        change, written=written, backup=backup, warnings=_exposed(path, secrets, private)
    )


def fragment(client: Client, entries: list[LaunchEntry]) -> str:
    """The entries alone in the client's format, as an install writes them into an empty file."""
    text = client.format.empty()
    for launch in reversed(entries) if client.format.inserts_first else entries:
        text = client.format.upsert(text, client.section, launch.name, client.render(launch))
    return text


def _check_kept(client: Client, before: dict[str, Any], text: str, expected: dict[str, Any]) -> None:
    """The new text, read back, holds exactly the expected entries and everything else as it was: an edit that
    would change anything else (a shape the editors did not foresee) is refused instead of written."""
    after = _parse(client, text)
    if client.entries_in(after) != expected or _outside(client, after) != _outside(client, before):
        raise FormatError(
            "a shape the kit cannot change without changing other settings "
            f"(the file read back differs outside the kit's entries in {'.'.join(client.section)})"
        )


def _outside(client: Client, data: dict[str, Any]) -> Any:
    """The data without the section the entries are in (nor the tables above it that hold nothing else)."""
    copy = json.loads(json.dumps(data, default=str))
    for depth in range(len(client.section), 0, -1):
        parent = _at(copy, client.section[: depth - 1])
        key = client.section[depth - 1]
        if isinstance(parent, dict) and (depth == len(client.section) or parent.get(key) == {}):
            parent.pop(key, None)
    return copy


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _emptied(client: Client, path: Path, text: str) -> str:
    """A section the last entry left: kept when the file had it before the kit came (its last backup without kit
    entries says so), gone when the kit made it (with the tables above it the kit made); a file that was empty is
    empty again."""
    original = _before_kit(client, path)
    had = _parse(client, original) if original is not None else {}
    for depth in range(len(client.section), 0, -1):
        keys = client.section[:depth]
        parent = _at(had, keys[:-1])
        if isinstance(parent, dict) and keys[-1] in parent:
            break
        if depth < len(client.section) and _at(client.format.parse(text), keys) != {}:
            break
        text = client.format.delete(text, keys[:-1], keys[-1])
    if original is not None and not original.strip() and text == _editable(client, original):
        return original
    return text


def _before_kit(client: Client, path: Path) -> str | None:
    """The file as it was before the kit's entries came: its latest backup that holds none."""
    for copy in reversed(files.backups(path)):
        if not _holds_kit_entries(client, copy):
            return files.read(copy).text
    return None


def _holds_kit_entries(client: Client, copy: Path) -> bool:
    try:
        data = _parse(client, files.read(copy).text)
    except (FormatError, KitError):
        return False
    return any(is_kit_entry(e) for e in client.entries_in(data).values())


def _tidy_backups(client: Client, path: Path, *, uninstall: bool) -> None:
    """At most BACKUPS_KEPT per file, the one from before the kit's entries came among them; after an uninstall,
    none that holds the kit's entries (their values are the kit's to take away)."""
    found = files.backups(path)
    holding = {copy for copy in found if _holds_kit_entries(client, copy)}
    if uninstall:
        for copy in holding:
            copy.unlink()
        found = [copy for copy in found if copy not in holding]
    kept = found[-BACKUPS_KEPT:]
    originals = [copy for copy in found if copy not in holding]
    if originals and originals[-1] not in kept:
        kept = [originals[-1], *found[-(BACKUPS_KEPT - 1) :]]
    for copy in found:
        if copy not in kept:
            copy.unlink()


def _narrow(path: Path) -> None:
    target = Path(os.path.realpath(path))
    target.chmod(stat.S_IMODE(target.stat().st_mode) & 0o700)


def _exposed(path: Path, secrets: list[str], private: bool) -> list[str]:
    """A warning when the values just written can be read by other users of this machine."""
    if not secrets or private or not path.exists():
        return []
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o044:
        return []
    return [
        f"{path} is readable by other users (mode {mode:04o}) and holds the value of {', '.join(secrets)}; "
        "`--private` makes it (and its backups) readable by you alone"
    ]


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
