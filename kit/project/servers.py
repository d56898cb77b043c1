"""Server projects: discovery under servers/, their [tool.mcpkit] declarations, and a hash of their sources."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kit.errors import KitError

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VERSION_LINE = re.compile(r"""^__version__\s*=\s*(["'])([^"']+)\1""", re.M)
# Files that never belong in an image nor in the source hash.
_IGNORED_PARTS = {
    "__pycache__",
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
}
_IGNORED_SUFFIXES = {".pyc", ".pyo", ".egg-info"}
# Beside the server but not in its image: its tests, and the schema lock that `kit build` checks the image against.
_NOT_IN_IMAGE = {"tests", "mcp-schema.lock.json"}


class RuntimeLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    memory: str = "512m"
    cpus: str = "1.0"
    pids: int = Field(128, gt=0)
    tmpfs_size: str = Field("64m", alias="tmpfs-size")


class ServerDeclaration(BaseModel):
    """What a server declares under [tool.mcpkit] in its pyproject.toml."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    module: str = Field(description="Module run as `python -m MODULE` inside the container.")
    network: bool = Field(False, description="The server needs network access (otherwise --network none).")
    env: list[str] = Field(
        default_factory=list, description="Settings passed by name from the client's env block."
    )
    secrets: list[str] = Field(default_factory=list, description="Like env, but the values are secrets.")
    image_env: dict[str, str] = Field(
        default_factory=dict, alias="image-env", description="ENV baked in the image."
    )
    build_commands: list[list[str]] = Field(
        default_factory=list,
        alias="build-commands",
        description="Commands run with the server installed, at build.",
    )
    data_dirs: list[str] = Field(
        default_factory=list,
        alias="data-dirs",
        description="Absolute paths the build commands fill, kept in the image.",
    )
    volumes: dict[str, str] = Field(
        default_factory=dict,
        description="Writable folders on volumes: name -> absolute path in the container.",
    )
    local_packages: list[str] = Field(
        default_factory=list,
        alias="local-packages",
        description="Project folders (relative) built into wheels too.",
    )
    limits: RuntimeLimits = Field(default_factory=RuntimeLimits)


class Server(BaseModel):
    name: str
    version: str
    path: Path
    distribution: str
    declaration: ServerDeclaration

    @property
    def passed_env(self) -> list[str]:
        return [*self.declaration.env, *self.declaration.secrets]

    @property
    def local_package_paths(self) -> list[Path]:
        return [(self.path / relative).resolve() for relative in self.declaration.local_packages]


def discover(servers_dir: Path) -> list[Server]:
    """Every server project (a folder with a pyproject.toml declaring [tool.mcpkit]) under `servers_dir`."""
    if not servers_dir.is_dir():
        raise KitError(
            f"no servers folder at {servers_dir}",
            hint="run kit from your project root or set KIT_SERVERS_DIR",
        )
    return [load_server(p.parent) for p in sorted(servers_dir.glob("*/pyproject.toml"))]


def select(servers: list[Server], names: list[str]) -> list[Server]:
    """The named servers, in the order given; all of them when no name is given."""
    if not names:
        return servers
    by_name = {s.name: s for s in servers}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise KitError(
            f"unknown server(s): {', '.join(unknown)}",
            hint=f"known servers: {', '.join(by_name) or 'none'}; see `kit list`",
        )
    return [by_name[n] for n in names]


def load_server(path: Path) -> Server:
    pyproject = path / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KitError(f"cannot read {pyproject}: {exc}") from None
    project = data.get("project", {})
    version = project.get("version") or _dynamic_version(path, data)
    if "name" not in project or not version:
        raise KitError(
            f"{pyproject} needs [project] name, and a static version or one hatch reads from a file",
            hint='add version = "0.1.0" under [project]',
        )
    raw = data.get("tool", {}).get("mcpkit")
    if raw is None:
        raise KitError(
            f"{pyproject} has no [tool.mcpkit] table", hint='declare at least module = "your_package"'
        )
    try:
        declaration = ServerDeclaration.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise KitError(f"invalid [tool.mcpkit] in {pyproject}: {problems}") from None
    relative = [p for p in declaration.volumes.values() if not p.startswith("/")]
    if relative:
        raise KitError(f"volume paths in {pyproject} must be absolute: {', '.join(relative)}")
    bad = [n for n in (*declaration.env, *declaration.secrets) if not _ENV_NAME.match(n)]
    if bad:
        raise KitError(f"invalid environment variable name(s) in {pyproject}: {', '.join(bad)}")
    return Server(
        name=path.name,
        version=str(version),
        path=path,
        distribution=str(project["name"]),
        declaration=declaration,
    )


def _dynamic_version(path: Path, pyproject: dict[str, Any]) -> str | None:
    """`dynamic = ["version"]` with `[tool.hatch.version] path = "pkg/__init__.py"`: the file's __version__."""
    if "version" not in pyproject.get("project", {}).get("dynamic", []):
        return None
    relative = pyproject.get("tool", {}).get("hatch", {}).get("version", {}).get("path")
    if not relative or not (path / relative).is_file():
        return None
    match = _VERSION_LINE.search((path / relative).read_text(encoding="utf-8"))
    return match.group(2) if match else None


def source_files(path: Path) -> list[Path]:
    """The server's files that go into its image, in a stable order."""
    files = []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if (
            not file.is_file()
            or _IGNORED_PARTS.intersection(relative.parts)
            or relative.parts[0] in _NOT_IN_IMAGE
        ):
            continue
        if file.suffix in _IGNORED_SUFFIXES or any(p.endswith(".egg-info") for p in relative.parts):
            continue
        files.append(file)
    return files


def source_hash(path: Path) -> str:
    """A sha256 over the server's file names and contents: changes when anything that goes into the image does."""
    digest = hashlib.sha256()
    for file in source_files(path):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
