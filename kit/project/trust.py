"""Whose files the kit may act on. A project (its mcpkit.toml, its servers) is someone's code: the kit adopts it
only when it belongs to the user running the kit and nobody else can write into it, as git refuses a repository
another user owns (CVE-2022-24765, `safe.directory`). A user who trusts such a folder anyway names it in
KIT_SAFE_DIRECTORIES, or in `safe_directories` of the user's own config file.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import platformdirs

from kit.errors import KitError

SAFE_DIRECTORIES = "KIT_SAFE_DIRECTORIES"


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir("mcpkit")) / "config.toml"


def user_config() -> dict[str, Any]:
    """`~/.config/mcpkit/config.toml`: the user's own settings (`[kit]`), which no project can change."""
    path = user_config_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KitError(f"cannot read your kit config {path}: {exc}", hint="fix or remove the file") from None
    return dict(data.get("kit", {}))


def check_project(project_dir: Path, environ: dict[str, str], safe: list[str]) -> None:
    """Refuse a project folder (or its manifest) another user owns, or one anybody may write into."""
    if not project_dir.exists() or _is_safe(project_dir, environ, safe):
        return
    from kit.project.manifest import MANIFEST_NAME

    for path in (project_dir, project_dir / MANIFEST_NAME):
        if not path.exists():
            continue
        info = path.stat()
        if info.st_uid not in _own_uids(environ):
            owner = f"user id {info.st_uid}"
            raise KitError(
                f"{path} belongs to {owner}, not to you: the kit does not act on another user's project",
                hint=_override_hint(project_dir),
            )
        if info.st_mode & stat.S_IWOTH:
            raise KitError(
                f"{path} is writable by every user: anyone could change what the kit runs",
                hint=f"`chmod o-w {path}`, or " + _override_hint(project_dir),
            )


def _own_uids(environ: dict[str, str]) -> set[int]:
    uids = {os.geteuid()}
    if os.geteuid() == 0 and environ.get("SUDO_UID", "").isdigit():
        uids.add(int(environ["SUDO_UID"]))  # `sudo kit ...` in the user's own project
    return uids


def _is_safe(project_dir: Path, environ: dict[str, str], safe: list[str]) -> bool:
    listed = [*environ.get(SAFE_DIRECTORIES, "").split(os.pathsep), *safe]
    if "*" in listed:
        return True
    return any(entry and Path(entry).expanduser().resolve() == project_dir.resolve() for entry in listed)


def _override_hint(project_dir: Path) -> str:
    return (
        f"if you trust it, add it to {SAFE_DIRECTORIES} (e.g. `export {SAFE_DIRECTORIES}={project_dir}`) "
        f"or to safe_directories under [kit] in {user_config_path()}"
    )
