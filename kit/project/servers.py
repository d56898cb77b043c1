"""The servers of a project: folders under servers/ (their [tool.mcpkit] table) and package-index servers (their
[servers.NAME] table in mcpkit.toml), with one declaration model for both, and a hash of a folder's sources."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kit import walls
from kit.errors import KitError, validation_problems
from kit.project import locks, manifest
from kit.project.settings import Settings
from mcpkit_runtime import argv

SERVER_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$")
SERVER_NAME_RULE = "lowercase letters, digits and dashes, starting with a letter and not ending with a dash"
_VERSION_LINE = re.compile(r"""^__version__\s*=\s*(["'])([^"']+)\1""", re.M)
_DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"


class RuntimeLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    memory: str = "512m"
    cpus: str = "1.0"
    pids: int = Field(128, gt=0, le=32768)
    tmpfs_size: str = Field("64m", alias="tmpfs-size")

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        walls.size_bytes(value, "memory")
        return value

    @field_validator("tmpfs_size")
    @classmethod
    def _tmpfs_size(cls, value: str) -> str:
        walls.size_bytes(value, "tmpfs-size")
        return value

    @field_validator("cpus")
    @classmethod
    def _cpus(cls, value: str) -> str:
        walls.cpus_value(value)
        return value


class SmokeCheck(BaseModel):
    """How a build checks the server answers: the handshake and tools/list, then the declared call if any; or
    not at all, for a reason (a server that needs its database to start)."""

    model_config = ConfigDict(extra="forbid")

    tool: str | None = Field(
        None, min_length=1, description="A tool called after tools/list; it must not fail."
    )
    arguments: dict[str, Any] = Field(default_factory=dict, description="The call's arguments.")
    skip: str | None = Field(None, min_length=1, description="Why the server is not started at build.")

    @model_validator(mode="before")
    @classmethod
    def _skip_needs_a_reason(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                'smoke takes a table: { skip = "the reason" } or { tool = "NAME", arguments = {...} }'
            )
        return value

    @model_validator(mode="after")
    def _one_or_the_other(self) -> SmokeCheck:
        if self.skip and (self.tool or self.arguments):
            raise ValueError("smoke: skip, or a tool to call, not both")
        if self.arguments and not self.tool:
            raise ValueError("smoke: arguments without a tool")
        return self

    def describe(self) -> str:
        if self.skip:
            return f"skipped: {self.skip}"
        return f"handshake, tools/list, {self.tool}()" if self.tool else "handshake, tools/list"


class ServerDeclaration(BaseModel):
    """How a server is built and started: [tool.mcpkit] of a folder, or [servers.NAME] in mcpkit.toml."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    module: str | None = Field(None, pattern=f"^{_DOTTED}$", description="Started as `python -m MODULE`.")
    script: str | None = Field(
        None, pattern=r"^[\w.-]+$", description="A console script the server installs."
    )
    function: str | None = Field(
        None, pattern=f"^{_DOTTED}:[A-Za-z_]\\w*$", description="`module:function`, called with no arguments."
    )
    args: list[str] = Field(
        default_factory=list,
        description='Command-line arguments the server starts with; "${NAME}" is filled in from the variable '
        "NAME inside the container at start (passed by name, like a secret).",
    )
    pins: list[str] = Field(
        default_factory=list, description='Extra requirements for the resolution, e.g. "mcp<2".'
    )
    python: str | None = Field(
        None,
        pattern=r"^3\.\d{1,2}$",
        description='The Python it needs, e.g. "3.13": built on a base that has it (otherwise the project\'s).',
    )
    network: bool = Field(False, description="The server needs network access (otherwise --network none).")
    build_network: bool = Field(
        False, alias="build-network", description="Its image build needs the network (otherwise none)."
    )
    env: list[str] = Field(
        default_factory=list, description="Settings passed by name from the client's env block."
    )
    secrets: list[str] = Field(default_factory=list, description="Like env, but the values are secrets.")
    image_env: dict[str, str] = Field(
        default_factory=dict, alias="image-env", description="ENV baked in the image."
    )
    system_packages: list[str] = Field(
        default_factory=list,
        alias="system-packages",
        description='Debian packages the server needs, e.g. ["git"]: downloaded on the host, unpacked at build.',
    )
    build_commands: list[list[str]] = Field(
        default_factory=list,
        alias="build-commands",
        description="Commands run with the server installed, at build.",
    )
    build_inputs: list[str] = Field(
        default_factory=list,
        alias="build-inputs",
        description="Files or folders of the server (relative) that are all its build commands read: while they "
        "are unchanged, a code change reuses what the commands wrote before.",
    )
    data_dirs: list[str] = Field(
        default_factory=list,
        alias="data-dirs",
        description="Absolute paths the build commands fill (made, empty, before they run), kept in the image.",
    )
    files: dict[str, str] = Field(
        default_factory=dict,
        description='Baked in, read-only: path in the container -> file or folder of the project, e.g. "./models".',
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
    smoke: SmokeCheck = Field(default_factory=SmokeCheck)

    @model_validator(mode="after")
    def _one_way_to_start(self) -> ServerDeclaration:
        given = [key for key in ("module", "script", "function") if getattr(self, key)]
        if len(given) > 1:
            raise ValueError(f"give one of module, script or function, not {' and '.join(given)}")
        return self

    @field_validator("pins")
    @classmethod
    def _valid_requirements(cls, pins: list[str]) -> list[str]:
        for pin in pins:
            parse_requirement(pin)
        return pins

    @field_validator("system_packages")
    @classmethod
    def _valid_packages(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if not _DEBIAN_PACKAGE.match(n)]
        if bad:
            raise ValueError(f"not Debian package names: {', '.join(bad)} (lowercase, e.g. git or libgl1)")
        return names

    @field_validator("env", "secrets")
    @classmethod
    def _valid_names(cls, names: list[str]) -> list[str]:
        return _env_names(names)

    @field_validator("image_env")
    @classmethod
    def _valid_image_env(cls, values: dict[str, str]) -> dict[str, str]:
        _env_names(list(values))
        return values

    @field_validator("volumes")
    @classmethod
    def _valid_volumes(cls, volumes: dict[str, str]) -> dict[str, str]:
        for name, path in volumes.items():
            if not walls.VOLUME_NAME.match(name):
                raise ValueError(f"volume name {name!r}: use lowercase letters, digits and dashes")
            walls.container_path(path, f"volume {name}'s path")
        return volumes

    @field_validator("files")
    @classmethod
    def _valid_files(cls, entries: dict[str, str]) -> dict[str, str]:
        for target, source in entries.items():
            walls.container_path(target, "files entry")
            if not source or Path(source).is_absolute() or ".." in Path(source).parts:
                raise ValueError(f"files: {source!r} must be a path inside the project, like ./models")
        return entries

    @field_validator("data_dirs")
    @classmethod
    def _valid_data_dirs(cls, paths: list[str]) -> list[str]:
        return [walls.container_path(path, "data-dirs entry") for path in paths]

    @field_validator("build_inputs")
    @classmethod
    def _relative_build_inputs(cls, paths: list[str]) -> list[str]:
        bad = [p for p in paths if not p or Path(p).is_absolute() or ".." in Path(p).parts]
        if bad:
            raise ValueError(f"build-inputs must be paths inside the server's folder, not {', '.join(bad)}")
        return paths

    @field_validator("local_packages")
    @classmethod
    def _relative_local_packages(cls, paths: list[str]) -> list[str]:
        bad = [p for p in paths if Path(p).is_absolute() or ".." in Path(p).parts]
        if bad:
            raise ValueError(f"local-packages must be folders inside the project, not {', '.join(bad)}")
        return paths

    @property
    def start(self) -> str | None:
        """How the server starts, as written (`module`, `script` or `function`), if it says."""
        return self.module or self.script or self.function

    @property
    def arg_variables(self) -> list[str]:
        """The variables its arguments name (`${NAME}`), filled in inside the container at start."""
        return argv.names(self.args)


class IndexDeclaration(ServerDeclaration):
    """A server installed from the package index: [servers.NAME] in mcpkit.toml."""

    package: str = Field(description="The requirement, e.g. mcp-server-time or mcp-server-time==2026.10.19.")

    @field_validator("package")
    @classmethod
    def _valid_package(cls, package: str) -> str:
        parse_requirement(package)
        return package


class Server(BaseModel):
    name: str
    version: str
    declaration: ServerDeclaration
    project_dir: Path
    path: Path | None = None  # a project folder, built into a wheel
    package: str | None = None  # a requirement on the package index
    distribution: str  # the distribution that is the server itself
    image: str | None = None  # a prebuilt image, run as it is (kit/project/image_servers.py)

    @property
    def secret_names(self) -> list[str]:
        """Its secrets, with the variables its arguments name that it does not list as settings: their values may
        come from `kit secret`'s store, like any secret's."""
        named = [n for n in self.declaration.arg_variables if n not in self.declaration.env]
        return list(dict.fromkeys([*self.declaration.secrets, *named]))

    @property
    def passed_env(self) -> list[str]:
        return [*self.declaration.env, *self.secret_names]

    @property
    def local_package_paths(self) -> list[Path]:
        base = self.path or self.project_dir
        return [(base / relative).resolve() for relative in self.declaration.local_packages]

    @property
    def where(self) -> str:
        """Where its declaration is written, for messages."""
        if self.path is not None:
            return f"[tool.mcpkit] in {self.path / 'pyproject.toml'}"
        return f"[servers.{self.name}] in {self.project_dir / manifest.MANIFEST_NAME}"


def _env_names(names: list[str]) -> list[str]:
    bad = [n for n in names if not walls.ENV_NAME.match(n)]
    if bad:
        raise ValueError(f"invalid environment variable name(s): {', '.join(bad)}")
    return names


def parse_requirement(text: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ValueError(f"invalid requirement {text!r}: {exc}") from None


def discover(settings: Settings) -> list[Server]:
    """Folders under the servers folder with a pyproject.toml declaring [tool.mcpkit], then the package-index
    servers of mcpkit.toml, in that order; a name used twice is refused."""
    folders = settings.servers_path
    if not folders.is_dir() and not (settings.project_dir / manifest.MANIFEST_NAME).is_file():
        raise KitError(
            f"no mcpkit project at {settings.project_dir} (no {manifest.MANIFEST_NAME}, no servers/ folder)",
            hint="run kit from your project, create one with `kit init`, or set KIT_PROJECT_DIR",
        )
    found = [load_server(p.parent, settings.project_dir) for p in sorted(folders.glob("*/pyproject.toml"))]
    names = {s.name for s in found}
    for name, table in manifest.server_tables(settings.project_dir).items():
        if name in names:
            raise KitError(
                f"server {name!r} is both a folder under {folders} and [servers.{name}] in mcpkit.toml",
                hint="rename one of them",
            )
        if "image" in table:
            from kit.project.image_servers import load_image_server

            found.append(load_image_server(settings.project_dir, name, table))
        else:
            found.append(load_index_server(settings.project_dir, name, table))
    return found


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


def load_server(path: Path, project_dir: Path | None = None) -> Server:
    pyproject = path / "pyproject.toml"
    if not SERVER_NAME.match(path.name):
        raise KitError(
            f"invalid server folder name {path.name!r} ({path})",
            hint=f"rename the folder: a server's name is {SERVER_NAME_RULE}",
        )
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
    declaration = _validated(ServerDeclaration, raw, f"[tool.mcpkit] in {pyproject}")
    return Server(
        name=path.name,
        version=str(version),
        path=path,
        project_dir=project_dir or path.parent.parent,
        distribution=str(project["name"]),
        declaration=declaration,
    )


def load_index_server(project_dir: Path, name: str, table: dict[str, Any]) -> Server:
    where = f"[servers.{name}] in {project_dir / manifest.MANIFEST_NAME}"
    if not SERVER_NAME.match(name):
        raise KitError(f"invalid server name {name!r} ({where})", hint=f"use {SERVER_NAME_RULE}")
    declaration = _validated(IndexDeclaration, table, where)
    requirement = parse_requirement(declaration.package)
    pinned = [
        s.version for s in requirement.specifier if s.operator in ("==", "===") and "*" not in s.version
    ]
    lock = locks.read(locks.lock_path(project_dir, name))
    version = pinned[0] if pinned else (lock.version_of(requirement.name) if lock else None)
    return Server(
        name=name,
        version=version or "unlocked",
        project_dir=project_dir,
        package=declaration.package,
        distribution=requirement.name,
        declaration=declaration,
    )


def _validated(model: type[ServerDeclaration], raw: Any, where: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise KitError(f"invalid {where}: {validation_problems(exc)}") from None


def _dynamic_version(path: Path, pyproject: dict[str, Any]) -> str | None:
    """`dynamic = ["version"]` with `[tool.hatch.version] path = "pkg/__init__.py"`: the file's __version__."""
    if "version" not in pyproject.get("project", {}).get("dynamic", []):
        return None
    relative = pyproject.get("tool", {}).get("hatch", {}).get("version", {}).get("path")
    if not relative or not (path / relative).is_file():
        return None
    match = _VERSION_LINE.search((path / relative).read_text(encoding="utf-8"))
    return match.group(2) if match else None
