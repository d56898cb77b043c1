"""Effective settings: KIT_* environment variables over the project manifest (mcpkit.toml) over defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, ValidationError

from kit.errors import KitError, validation_problems
from kit.project import trust
from kit.project.manifest import MANIFEST_NAME, kit_table

ENV_PREFIX = "KIT_"
DEFAULT_BASE_IMAGE = "mcpkit/base:bookworm"
# What runs on the host or where the kit writes: set by the user (environment, own config file), never a project.
USER_ONLY = ("docker_command", "cache_dir", "debian_mirror", "labels", "project_dir", "engine_logs")


class Settings(BaseModel):
    """Every knob of the kit. Each field is KIT_<NAME> in the environment or <name> under [kit] in mcpkit.toml."""

    project_dir: Path = Field(
        default_factory=Path.cwd, description="Project root holding servers/ and mcpkit.toml."
    )
    servers_dir: Path | None = Field(
        None, description="Folder of server projects (default: <project_dir>/servers)."
    )
    base_image: str = Field(
        DEFAULT_BASE_IMAGE,
        description="Base image of every server image. The default is built locally by `kit base`; "
        "any image with python3 works, e.g. python:3.12-slim.",
    )
    image_prefix: str = Field("mcpkit", description="Repository prefix of built server images.")
    cache_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_cache_dir("mcpkit")),
        description="Where the wheelhouse and build contexts live.",
    )
    debian_suite: str = Field("bookworm", description="Debian release of the base image built by `kit base`.")
    debian_mirror: str = Field(
        "http://deb.debian.org/debian", description="Debian mirror used by `kit base`."
    )
    docker_command: str = Field("docker", description="Docker CLI that client configs launch servers with.")
    labels: str = Field(
        "",
        description="KEY=VALUE[,KEY=VALUE] labels put on every container the kit starts (e.g. a CI run's id).",
    )
    engine_logs: bool = Field(
        False,
        description="Keep the engine's log of the servers clients and the gateway start, for `kit logs`. Off: "
        "that log copies the protocol's traffic to the host's disk and slows every call; the audit lines reach "
        "the client on stderr, or a file with MCP_AUDIT_FILE.",
    )

    @property
    def servers_path(self) -> Path:
        return self.servers_dir or self.project_dir / "servers"

    @property
    def wheelhouse(self) -> Path:
        return self.cache_dir / "wheelhouse"

    @property
    def container_labels(self) -> dict[str, str]:
        pairs = [item.partition("=") for item in self.labels.split(",") if item.strip()]
        return {key.strip(): value for key, _, value in pairs}


SettingSource = Literal["environment", "user config", "manifest", "default"]


def load_settings(environ: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Resolve settings from the environment and the manifest of the project that holds `cwd`."""
    values, _ = _collect(environ if environ is not None else dict(os.environ), cwd or Path.cwd())
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise KitError(
            f"invalid kit settings: {validation_problems(exc)}",
            hint="check the KIT_* variables and mcpkit.toml; `kit env` lists them",
        ) from None


def describe_settings(environ: dict[str, str] | None = None, cwd: Path | None = None) -> list[dict[str, str]]:
    """Each setting with its effective value and where it came from, for `kit env`."""
    env = environ if environ is not None else dict(os.environ)
    _, sources = _collect(env, cwd or Path.cwd())
    settings = load_settings(env, cwd)
    rows = []
    for name, field in Settings.model_fields.items():
        value = settings.servers_path if name == "servers_dir" else getattr(settings, name)
        rows.append(
            {
                "name": ENV_PREFIX + name.upper(),
                "value": "" if value is None else str(value),
                "source": sources.get(name, "default"),
                "description": field.description or "",
            }
        )
    return rows


def find_project_dir(start: Path) -> Path:
    """The nearest folder at or above `start` holding mcpkit.toml or servers/, else `start` itself."""
    for folder in (start, *start.parents):
        if (folder / MANIFEST_NAME).is_file() or (folder / "servers").is_dir():
            return folder
    return start


def _collect(environ: dict[str, str], cwd: Path) -> tuple[dict[str, Any], dict[str, SettingSource]]:
    values: dict[str, Any] = {}
    sources: dict[str, SettingSource] = {}
    project_dir = Path(environ.get(ENV_PREFIX + "PROJECT_DIR") or find_project_dir(cwd.resolve()))
    user = trust.user_config()
    trust.check_project(project_dir, environ, list(user.pop("safe_directories", [])))
    manifest = project_dir / MANIFEST_NAME
    for name, value in kit_table(project_dir).items():
        if name not in Settings.model_fields:
            raise KitError(
                f"unknown setting {name!r} in {manifest}",
                hint=f"known settings: {', '.join(Settings.model_fields)}",
            )
        if name in USER_ONLY:
            raise KitError(
                f"{name} is set in {manifest}, but a project cannot choose it: it decides what runs on your host",
                hint=f"remove it there; set it yourself with {ENV_PREFIX}{name.upper()} or under [kit] in "
                f"{trust.user_config_path()}",
            )
        values[name], sources[name] = value, "manifest"
    if "servers_dir" in values and not (project_dir / values["servers_dir"]).resolve().is_relative_to(
        project_dir.resolve()
    ):
        raise KitError(f"servers_dir in {manifest} leads out of the project", hint="name a folder inside it")
    for name, value in user.items():
        if name not in Settings.model_fields or name == "project_dir":
            raise KitError(f"unknown setting {name!r} in {trust.user_config_path()}",
                           hint=f"known settings: {', '.join(Settings.model_fields)}, safe_directories")  # fmt: skip
        values[name], sources[name] = value, "user config"
    for name in Settings.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw:
            values[name], sources[name] = raw, "environment"
    values["project_dir"] = project_dir
    sources.setdefault("project_dir", "environment" if environ.get(ENV_PREFIX + "PROJECT_DIR") else "default")
    for name in ("servers_dir", "cache_dir"):
        if name in values and not Path(values[name]).is_absolute():
            values[name] = project_dir / values[name]
    return values, sources
