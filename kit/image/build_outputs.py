"""What a server's build commands wrote into its data dirs, kept for the next code change when the server declares
what they read (`build-inputs`, files or folders of its own): while those, the commands, the data dirs and the
image of the dependencies stay the same, the code step does not run the commands again and adds what they wrote
before, checked again as the wall checks what it keeps (kit/image/code_layer.py). The analyst's demo database is
the case: its code changes far more often than its generator, and a code change rebuilt in 2.46 s without its
output reused, 1.87-1.92 s with it (the command's 0.7 s less what the start bundle's recording beside it then costs).

Only the last output of each server is kept (per project). A command that reads what its inputs do not name
(another module of the server, say) gets an output of its older code: the declaration says what it reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

from kit.errors import KitError
from kit.identity import project_id
from kit.project.servers import Server
from kit.project.settings import Settings


def key(server: Server, source: Path, dependencies: str, as_root: bool) -> str | None:
    """A digest of everything the commands' output is made from, with the inputs read in `source` (the folder's
    image files, as the build copies them); None when the server declares no inputs."""
    declaration = server.declaration
    if not declaration.build_inputs or not declaration.build_commands:
        return None
    digest = hashlib.sha256(
        json.dumps([dependencies, declaration.build_commands, declaration.data_dirs, as_root]).encode()
    )
    for name in declaration.build_inputs:
        found = sorted(_files(source / name))
        if not found:
            raise KitError(
                f"build-inputs of {server.name}: {name} is not among the server's image files",
                hint=f"name files or folders inside {server.path} that the build copies (not ignored ones)",
            )
        for file in found:
            digest.update(file.relative_to(source).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [Path(root) / name for root, _, names in os.walk(path) for name in names]


def _folder(settings: Settings, server: Server) -> Path:
    return settings.cache_dir / "build-outputs" / project_id(server.project_dir) / server.name


def recalled(settings: Settings, server: Server, digest: str | None) -> Path | None:
    """The output kept for `digest`, if any."""
    if digest is None:
        return None
    kept = _folder(settings, server) / f"{digest}.tar"
    return kept if kept.is_file() else None


def remember(settings: Settings, server: Server, digest: str, layer: Path) -> None:
    """What `layer` (checked) holds within the data dirs, and the folders above them, kept for `digest`; the
    server's older outputs removed."""
    folder = _folder(settings, server)
    folder.mkdir(parents=True, exist_ok=True)
    dirs = [d.strip("/") for d in server.declaration.data_dirs]
    partial = folder / f"{digest}.partial"
    with tarfile.open(layer) as source, tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as out:
        for member in source:
            name = member.name.strip("/")
            if any(name == d or name.startswith(d + "/") or d.startswith(name + "/") for d in dirs):
                out.addfile(member, source.extractfile(member) if member.isreg() else None)
    for older in folder.glob("*.tar"):
        older.unlink()
    partial.rename(folder / f"{digest}.tar")
