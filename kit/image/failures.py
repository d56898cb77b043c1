"""A fleet build does not rebuild what failed before from exactly the same inputs: one broken server would
otherwise cost every `kit build` its whole build again. `kit build NAME` (or --force) always tries again."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from kit import __version__, files, identity
from kit.image import baked_files
from kit.project import locks
from kit.project.servers import Server
from kit.project.sources import source_hash
from kit.resources import images_dir


@dataclass(frozen=True)
class Failure:
    inputs: str
    error: str
    hint: str | None


class FailureMemory:
    def __init__(self, cache_dir: Path, server: Server, base_id: str) -> None:
        folder = cache_dir / "failed-builds" / identity.project_id(server.project_dir)
        self.path = folder / f"{server.name}.json"
        self.server, self.base_id = server, base_id

    def recall(self) -> Failure | None:
        """The failure of a build from these same inputs, if the last build of them failed."""
        if not self.path.is_file():
            return None
        try:
            failure = Failure(**json.loads(self.path.read_text(encoding="utf-8")))
        except (ValueError, TypeError):
            return None
        return failure if failure.inputs == _inputs(self.server, self.base_id) else None

    def remember(self, error: str, hint: str | None) -> None:
        """Recorded with the inputs as the failed build left them (it may have written the server's lock)."""
        failure = Failure(_inputs(self.server, self.base_id), error, hint)
        files.write_atomically(self.path, json.dumps(asdict(failure)))

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)


def _inputs(server: Server, base_id: str) -> str:
    """Everything a build reads: the kit, the recipe, the base image, the declaration, the sources, the lock."""
    lock = locks.lock_path(server.project_dir, server.name)
    parts = [
        __version__, (images_dir() / "server.Dockerfile").read_text(encoding="utf-8"), base_id,
        server.model_dump_json(exclude={"project_dir"}),
        *(source_hash(path) for path in [*([server.path] if server.path else []), *server.local_package_paths]),
        lock.read_text(encoding="utf-8") if lock.is_file() else "", baked_files.digest(server),
    ]  # fmt: skip
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
