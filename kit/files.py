"""Writing files users keep (their client configs, the project manifest, lock files): whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from kit.errors import KitError


def write_atomically(path: Path, text: str, *, expected: str | None = None) -> None:
    """Write beside the target, then rename over it: a reader sees the old file or the new one, never half.

    With `expected` (the text the change was computed from; "" for a file that did not exist), a file that
    changed meanwhile (the client saved it) is not replaced, and the error says so.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            shutil.copymode(path, temporary)
        if expected is not None and _current_text(path) != expected:
            raise KitError(
                f"{path} changed while the kit was writing it; it was left as the other program wrote it",
                hint="run the command again",
            )
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _current_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def backup(path: Path) -> Path:
    """A timestamped copy beside the file: NAME.<UTC time>.bak."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    copy = path.with_name(f"{path.name}.{stamp}.bak")
    shutil.copy2(path, copy)
    return copy
