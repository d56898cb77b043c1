"""The one place that says how a server is started: its image (or the gateway, which starts the images), its walls,
the variables it takes by name and the values a client sets for them.

Client entries, the build's smoke test, the gateway, the demo, doctor, bench and the tests all start servers from
a `LaunchEntry` made here, so what is tested is exactly what clients run.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kit import identity
from kit.errors import KitError
from kit.secrets import names as secret_names
from kit.walls import Mount, Walls, host_path, network_name

if TYPE_CHECKING:
    from mcp import StdioServerParameters

    from kit.project.servers import Server
    from kit.project.settings import Settings

# The stdio client hands its child only a minimal environment; the docker CLI also needs these to find the engine.
DOCKER_ENV_VARS = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")
PLACEHOLDER = "mcpkit-placeholder"  # what the kit's own checks pass for a variable an argument names
# `docker run` options that take no value; every other option of the kit's entries takes one.
_FLAGS = frozenset({"-i", "--interactive", "--rm", "--init", "--read-only", "-t", "--tty", "-d", "--detach"})


@dataclass(frozen=True)
class LaunchEntry:
    """How a client starts one server: a command line plus the values for the variables it passes by name."""

    name: str
    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    # A plain `docker run` entry's walls, for starting it through the engine's API instead.
    walls: Walls | None = None

    @property
    def image(self) -> str | None:
        """The image a `docker run` entry starts; None for anything else (the gateway's entry, say)."""
        return image_of(self.args)

    def stdio_params(self) -> StdioServerParameters:
        return stdio_params(self.command, self.args, self.env)


def stdio_params(
    command: str, args: list[str], env: Mapping[str, str] | None = None
) -> StdioServerParameters:
    """An entry started as its client starts it: its command and arguments, its env block on top of the variables
    that tell the docker CLI where the engine is."""
    from mcp import StdioServerParameters

    return StdioServerParameters(command=command, args=list(args), env=docker_client_env(env))


def docker_client_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {name: os.environ[name] for name in DOCKER_ENV_VARS if name in os.environ}
    return {**env, **(extra or {})}


def image_of(args: list[str]) -> str | None:
    """The image of `run OPTIONS... IMAGE [ARGS...]`: the first word after `run` that is neither an option nor an
    option's value. Through `kit launch ... -- docker run ...`, the same after the `--`."""
    if args[:1] == ["launch"] and "--" in args:
        args = args[args.index("--") + 2 :]
    if not args or args[0] != "run":
        return None
    words = iter(args[1:])
    for word in words:
        if not word.startswith("-"):
            return word
        if word not in _FLAGS and "=" not in word:
            next(words, None)
    return None


def server_walls(
    server: Server,
    *,
    network: str | None = None,
    volumes: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    env_names: list[str] | None = None,
    engine_log: bool = False,
) -> Walls:
    """The server's own walls (its limits, whether it needs a network, its volumes) with what the caller adds: a
    network to join, host folders for its volumes, labels, the variables the client sets."""
    limits = server.declaration.limits
    if network is not None:
        try:
            network_name(network)
        except ValueError as exc:
            raise KitError(f"--network: {exc}") from None
    mounts = []
    for name, target in server.declaration.volumes.items():
        host = (volumes or {}).get(name)
        if host:
            try:
                mounts.append(Mount("bind", host_path(host), target))
            except ValueError as exc:
                raise KitError(f"--volume {name}: {exc}") from None
        else:
            mounts.append(Mount("volume", identity.volume_name(server, name), target))
    all_labels = {
        identity.MANAGED: "true",
        identity.SERVER: server.name,
        identity.PROJECT: identity.project_id(server.project_dir),
        **(labels or {}),
    }
    return Walls(
        memory=limits.memory, cpus=limits.cpus, pids=limits.pids, tmpfs_size=limits.tmpfs_size,
        network=network or ("bridge" if server.declaration.network else "none"), mounts=tuple(mounts),
        labels=tuple(all_labels.items()), env_names=tuple(env_names or ()), engine_log=engine_log,
    )  # fmt: skip


def server_entry(
    settings: Settings,
    server: Server,
    *,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
    stored_secrets: list[str] | None = None,
    network: str | None = None,
    volumes: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> LaunchEntry:
    """The entry that starts `server` from `image` (its tag by default). `env` holds values for variables the
    server takes; the arguments name them and never hold a value. `stored_secrets` are taken from `kit secret`'s
    store at each start, through `kit launch`, so their values are in no file at all."""
    labels = {**settings.container_labels, **(labels or {})}
    # The variables its arguments name are passed whether or not a value is known here: the client's own
    # environment may hold it, and without one the container says which is missing.
    names = list(dict.fromkeys([*(env or {}), *(stored_secrets or []), *server.declaration.arg_variables]))
    walls = server_walls(server, network=network, volumes=volumes, labels=labels, env_names=names,
                         engine_log=settings.engine_logs)  # fmt: skip
    args = ["run", *walls.docker_args(), *_image_and_command(settings, server, image)]
    if not stored_secrets:
        return LaunchEntry(server.name, settings.docker_command, args, dict(env or {}), walls)
    secrets = [word for name in stored_secrets for word in ("--secret", name)]
    launch = ["launch", *secrets, "--", settings.docker_command, *args]
    return LaunchEntry(server.name, kit_command(), launch, dict(env or {}))


def launch_entries(
    settings: Settings,
    servers: list[Server],
    env_values: Mapping[str, str] | None = None,
    extra_labels: dict[str, str] | None = None,
    network: str | None = None,
    volumes: Mapping[str, str] | None = None,
) -> list[LaunchEntry]:
    """One entry per server. Values go in the entry's env block; args name the variables and never hold values."""
    env_values = values_taken(servers, env_values or {}, strict=True)
    volumes = dict(volumes or {})
    unknown_volumes = sorted(
        set(volumes) - {name for server in servers for name in server.declaration.volumes}
    )
    if unknown_volumes:
        raise KitError(f"no selected server declares the volume(s) {', '.join(unknown_volumes)}")
    relative = [path for path in volumes.values() if not Path(path).is_absolute()]
    if relative:
        raise KitError(f"--volume needs an absolute host path: {', '.join(relative)}")
    stored = set(secret_names())
    entries = []
    for server in servers:
        env = values_taken([server], env_values)
        from_store = [name for name in server.secret_names if name in stored and name not in env]
        entries.append(server_entry(settings, server, env=env, stored_secrets=from_store, network=network,
                                    volumes=volumes, labels=extra_labels))  # fmt: skip
    return entries


def values_taken(servers: list[Server], values: Mapping[str, str], *, strict: bool = False) -> dict[str, str]:
    """The values of the variables these servers take, by name, out of `values`; with `strict`, a name none of them
    takes is an error (a typo would otherwise leave a server without its setting)."""
    declared = {name for server in servers for name in server.passed_env}
    unknown = sorted(set(values) - declared)
    if strict and unknown:
        raise KitError(
            f"no selected server takes {', '.join(unknown)}",
            hint="each server declares the variables it takes under [tool.mcpkit] env/secrets; see `kit list --json`",
        )
    return {name: value for name, value in values.items() if name in declared}


def probe_entry(
    settings: Settings, server: Server, *, image: str | None = None, labels: Mapping[str, str] | None = None
) -> LaunchEntry:
    """The entry the kit's own checks start (the build's smoke test, doctor, the schema lock): a client's, with a
    placeholder for each variable the server's arguments name, since no value is needed to answer tools/list (a
    server that uses it at start declares smoke = { skip = "why" })."""
    placeholders = dict.fromkeys(server.declaration.arg_variables, PLACEHOLDER)
    return server_entry(settings, server, image=image, env=placeholders, labels=labels)


def _image_and_command(settings: Settings, server: Server, image: str | None) -> list[str]:
    """The image, and for a prebuilt one the command it declares: never pulled, so what runs is what was checked."""
    image = image or identity.image_tag(settings, server)
    if server.image is None:
        return [image]
    command: list[str] = getattr(server.declaration, "command", [])
    entrypoint = ["--entrypoint", command[0]] if command else []
    return ["--pull", "never", *entrypoint, image, *command[1:], *server.declaration.args]


def kit_command() -> str:
    """The installed console script: beside this interpreter in its environment, or on PATH."""
    beside = Path(sys.executable).parent / "kit"
    return str(beside) if beside.is_file() else shutil.which("kit") or "kit"
