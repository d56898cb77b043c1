"""Files baked into a server's image: `files = { "/opt/models" = "./models" }`, a file or folder of the project
(relative to where the server is declared) copied read-only to that path, so a server whose model was downloaded
once on the host runs with no network.

A folder is filtered like a server's own sources (kit/project/sources.py: secrets, VCS, caches and what its
.mcpkitignore names stay out); a path or link that leads out of the project is refused.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from kit.errors import KitError
from kit.project.servers import Server
from kit.project.sources import source_files

CONTEXT_FOLDER = "files"


def sources(server: Server) -> list[tuple[str, Path]]:
    """(path in the container, path on the host) for each declared entry, in a stable order; each checked."""
    base = server.path or server.project_dir
    project = server.project_dir.resolve()
    found = []
    for target, relative in sorted(server.declaration.files.items()):
        path = base / relative
        if not path.resolve().is_relative_to(project):
            raise KitError(
                f"files: {relative} ({path.resolve()}) is outside the project {project} ({server.where})",
                hint="copy what the image needs into the project; links leading out of it are refused",
            )
        if not path.exists():
            raise KitError(
                f"files: {relative} does not exist ({path}), for {target} in {server.where}",
                hint="create it (e.g. download the model into it once), or fix the path",
            )
        found.append((target, path))
    return found


def into_context(server: Server, context: Path) -> None:
    """Each entry as files/<n> in the build context (the Dockerfile copies files/<n> to its path), readable by
    the server's user whatever the host's modes."""
    for index, (_, path) in enumerate(sources(server)):
        destination = context / CONTEXT_FOLDER / str(index)
        for file, relative in _files(path):
            target = destination / relative if relative else destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
            target.chmod(0o755 if file.stat().st_mode & 0o111 else 0o644)


def digest(server: Server) -> str:
    """Changes when anything baked in does: paths and contents. Never fails: a missing or refused entry is part
    of the digest, and the build says what is wrong with it."""
    hashed = hashlib.sha256()
    try:
        entries = sources(server)
    except KitError as exc:
        return hashlib.sha256(exc.message.encode()).hexdigest()
    for target, path in entries:
        hashed.update(target.encode() + b"\0")
        for file, relative in _files(path):
            hashed.update(relative.encode() + b"\0")
            with file.open("rb") as handle:
                hashed.update(hashlib.file_digest(handle, "sha256").digest())
    return hashed.hexdigest()


def _files(path: Path) -> list[tuple[Path, str]]:
    """(file, its path relative to the entry; "" for an entry that is a file)."""
    if path.is_file():
        return [(path, "")]
    return [(file, file.relative_to(path).as_posix()) for file in source_files(path)]
