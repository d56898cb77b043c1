"""Writing files users keep (their client configs, the project manifest, lock files): whole or not at all, through
their links, with their owner, group and mode, and (for text the kit edits) their line endings and byte-order mark."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kit.errors import KitError

BOM = "\ufeff"
_BACKUP = re.compile(r"\.\d{8}T\d{12}Z\.bak")


@dataclass(frozen=True)
class Stored:
    """A text file as the kit edits it: LF line endings and no byte-order mark, and how to write it back the way
    it was (CRLF again when every line had it, the mark again when it had one)."""

    text: str
    exists: bool = False
    bom: bool = False
    crlf: bool = False

    def encode(self, text: str) -> str:
        return (BOM if self.bom else "") + (text.replace("\n", "\r\n") if self.crlf else text)


def read(path: Path) -> Stored:
    """The file's text (through a link to its target); an absent file reads as empty."""
    try:
        raw = path.read_bytes()  # bytes: read_text would turn CRLF into LF behind our back
    except FileNotFoundError:
        return Stored("")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KitError(
            f"{path} is not UTF-8 text (byte {exc.start} cannot be read); it was left untouched",
            hint="save it as UTF-8 and run the command again",
        ) from None
    bom = text.startswith(BOM)
    text = text.removeprefix(BOM)
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    return Stored(text.replace("\r\n", "\n") if crlf else text, True, bom, crlf)


def write_atomically(path: Path, text: str, *, expected: str | None = None, mode: int | None = None) -> None:
    """Write beside the target, then rename over it: a reader sees the old file or the new one, never half.

    A link is written through (its target changes, the link stays); an existing file keeps its owner, group and
    mode (`mode` replaces the mode). With `expected` (the text the change was computed from; "" for a file that did
    not exist), a file that changed meanwhile (the client saved it) is not replaced, and the error says so.
    """
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.stat() if target.exists() else None
    # A new file made with root rights (sudo) in a user's folder is that user's, like the folder.
    owner = old or (target.parent.stat() if _root() else None)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            permissions = mode if mode is not None else stat.S_IMODE(old.st_mode) if old else None
            if permissions is not None:  # mkstemp made it 0600: never wider than the original
                os.chmod(temporary, permissions)  # by name: Windows' Python 3.11 has no fchmod
            owned = owner is None or _same_owner(handle.fileno(), owner)
        if expected is not None and _current_text(target) != expected:
            raise KitError(
                f"{path} changed while the kit was writing it; it was left as the other program wrote it",
                hint="run the command again",
            )
        if not owned:  # another user's file we may write but not give back: changed in place, theirs still
            with target.open("r+", encoding="utf-8", newline="") as handle:
                handle.truncate(0)
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is not None:
                target.chmod(mode)
            Path(temporary).unlink()
            return
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _same_owner(descriptor: int, old: os.stat_result) -> bool:
    """Give the new file the old one's owner and group (as root, or a group the user is in)."""
    if not hasattr(os, "fchown") or (old.st_uid, old.st_gid) == (os.geteuid(), os.getegid()):
        return True  # Windows has no owners to give back
    try:
        os.fchown(descriptor, old.st_uid, old.st_gid)
    except PermissionError:
        return False
    return True


def _root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _current_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ""


def backup(path: Path, *, mode: int | None = None) -> Path:
    """A timestamped copy beside the file (beside the link, for a link): NAME.<UTC time>.bak, with the original's
    owner and mode (or `mode`, when narrower) from the moment it exists: created with that mode, then filled."""
    source = path.stat()
    permissions = stat.S_IMODE(source.st_mode) & (mode if mode is not None else 0o7777)
    copy = path.with_name(f"{path.name}.{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.bak")
    descriptor = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, permissions & 0o777)
    with os.fdopen(descriptor, "wb") as handle:
        os.chmod(copy, permissions)  # exactly, the umask having narrowed it at creation
        _same_owner(handle.fileno(), source)
        handle.write(path.read_bytes())
    os.utime(copy, ns=(source.st_atime_ns, source.st_mtime_ns))
    return copy


def backups(path: Path) -> list[Path]:
    """The backups `backup` made of this file, oldest first."""
    prefix = path.name
    found = [
        p
        for p in path.parent.glob(f"{_glob_escape(prefix)}.*.bak")
        if _BACKUP.fullmatch(p.name[len(prefix) :])
    ]
    return sorted(found)


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)
