"""A container's walls, as one validated value: user, root filesystem, scratch space, limits, network, mounts,
labels and the variables it takes by name. Rendered to `docker run` arguments, Docker SDK keywords, a compose
service and a Kubernetes container, so every way the kit starts a server puts up the same walls.

Everything here may come from a project file someone else wrote, so each field has a strict grammar: nothing a
value holds can become a second mount option, another flag or a path outside what it names. A comma in a
`--mount` field, for instance, would start a new key (`source=x,type=bind,source=/` mounts the host's root).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from kit.errors import KitError
from kit.identity import CONTAINER_USER

SIZE = re.compile(r"^([1-9][0-9]{0,12})([kmg]?)$", re.IGNORECASE)
CPUS = re.compile(r"^(?:[0-9]{1,3})(?:\.[0-9]{1,3})?$")
VOLUME_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
DOCKER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")  # a Docker volume or network name
_PATH_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
LABEL_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_LABEL_VALUE = re.compile(r"^[^\x00-\x1f\x7f]{0,256}$")
# An image reference as Docker's own grammar has it (distribution/reference): [DOMAIN[:PORT]/]PATH[:TAG][@DIGEST].
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
IMAGE_REFERENCE = re.compile(
    rf"(?:(?P<domain>{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]{{1,5}})?)/)?"
    rf"(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?",
    re.ASCII,
)
_COMMAND_WORD = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./+-]{0,254}", re.ASCII)
# Container paths a mount may not cover: they would hide or replace what the walls rest on.
_RESERVED = ("/", "/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/opt/venv")
_MIN_BYTES = {"memory": 16 * 2**20, "tmpfs-size": 2**20}
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}
# Networks that would take a wall down: the host's own stack, or another container's.
_FORBIDDEN_NETWORKS = ("host",)


def size_bytes(text: str, what: str) -> int:
    """`512m`, `1g`, `65536`: a positive size with an optional unit; no extra options, no zero (Docker reads a zero
    memory limit as no limit at all)."""
    match = SIZE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{what} must be a size like 512m or 1g (digits and one unit of k, m, g), not {text!r}"
        )
    value = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if value < _MIN_BYTES.get(what, 1):
        raise ValueError(f"{what} {text!r} is below the smallest allowed, {_MIN_BYTES[what] // 2**20}m")
    return value


def cpus_value(text: str) -> float:
    if not isinstance(text, str) or not CPUS.match(text.strip()) or float(text) <= 0:
        raise ValueError(f"cpus must be a positive number like 0.5 or 2, not {text!r}")
    return float(text)


def container_path(text: str, what: str = "path") -> str:
    """An absolute path inside the container, of plain segments: no `..`, no commas, quotes, colons or spaces."""
    if not isinstance(text, str) or not text.startswith("/") or text.endswith("/"):
        raise ValueError(f"{what} must be an absolute path like /data (no trailing slash), not {text!r}")
    parts = text[1:].split("/")
    if len(text) > 255 or not all(_PATH_PART.match(part) and part not in (".", "..") for part in parts):
        raise ValueError(
            f"{what} {text!r} may hold only letters, digits and _ . @ + - between slashes (no '..')"
        )
    covered = [r for r in _RESERVED if text == r or (r != "/" and text.startswith(r + "/"))]
    if covered:
        raise ValueError(f"{what} {text!r} would cover {covered[0]}, which the container needs as it is")
    return text


def host_path(text: str) -> str:
    """A host folder to bind-mount, as the user gave it on the command line: absolute, one `--mount` field."""
    if not text.startswith("/") or any(c in text for c in ",\"'\n\r\t\x00"):
        raise ValueError(
            f"a host folder must be an absolute path without commas, quotes or control characters: {text!r}"
        )
    return text


def image_reference(text: str) -> str:
    """An image someone else named (`mcp/git:1.0`, `registry.example:5000/team/srv@sha256:...`): one word of
    `docker run` that can only ever be read as the image, never as an option."""
    match = IMAGE_REFERENCE.fullmatch(text) if isinstance(text, str) and len(text) <= 400 else None
    domain = match.group("domain") if match else None
    # Docker reads a first component without a dot or a port, other than localhost, as part of the path.
    if domain and not ("." in domain or ":" in domain or domain == "localhost"):
        match = match if re.fullmatch(_PATH_COMPONENT, domain) else None
    if match is None or len(text.split("@")[0].rsplit(":", 1)[0]) > 255:
        raise ValueError(
            f"{text!r} is not an image reference: like mcp/git, mcp/git:1.0 or registry.example/team/git@sha256:"
            "<64 hex digits> (lowercase path, no spaces, no options)"
        )
    return text


def command_word(text: str) -> str:
    """A command a container starts with, given to `docker run --entrypoint`: a program name or an absolute path."""
    if not isinstance(text, str) or not _COMMAND_WORD.fullmatch(text):
        raise ValueError(
            f"command {text!r} must start with a program name or path like python3 or /usr/local/bin/server "
            "(letters, digits and _ . / + -, not starting with -)"
        )
    return text


def network_name(text: str) -> str:
    if not DOCKER_NAME.match(text) or text in _FORBIDDEN_NETWORKS:
        raise ValueError(f"network {text!r}: give the name of a Docker network (not host, not container:...)")
    return text


@dataclass(frozen=True)
class Mount:
    kind: Literal["volume", "bind"]
    source: str  # a Docker volume's name, or an absolute host folder
    target: str  # an absolute path in the container

    def __post_init__(self) -> None:
        container_path(self.target, "mount target")
        if self.kind == "volume" and not DOCKER_NAME.match(self.source):
            raise ValueError(f"volume name {self.source!r} is not a valid Docker volume name")
        if self.kind == "bind":
            host_path(self.source)

    def option(self) -> str:
        return f"type={self.kind},source={self.source},target={self.target}"


@dataclass(frozen=True)
class Walls:
    """What a server's container may do and reach. Constructed only through `walls()` or with validated values."""

    memory: str = "512m"
    cpus: str = "1.0"
    pids: int = 128
    tmpfs_size: str = "64m"
    network: str = "none"  # "none", "bridge" (the engine's default network) or a named network
    mounts: tuple[Mount, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    env_names: tuple[str, ...] = ()
    user: str = CONTAINER_USER
    # The engine's log of an attached server is a copy of its protocol traffic (answers, query results) on the host's
    # disk, and writing it costs each call time (0.75 ms at load 5); its stderr reaches the client anyway.
    engine_log: bool = False

    def __post_init__(self) -> None:
        try:
            size_bytes(self.memory, "memory")
            size_bytes(self.tmpfs_size, "tmpfs-size")
            cpus_value(self.cpus)
            if not isinstance(self.pids, int) or not 0 < self.pids <= 32768:
                raise ValueError(f"pids must be a whole number from 1 to 32768, not {self.pids!r}")
            if self.network not in ("none", "bridge"):
                network_name(self.network)
            for key, value in self.labels:
                if not LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
                    raise ValueError(f"label {key}={value!r} is not a plain key=value label")
            bad = [n for n in self.env_names if not ENV_NAME.match(n)]
            if bad:
                raise ValueError(f"invalid environment variable name(s): {', '.join(bad)}")
            targets = [m.target for m in self.mounts] + ["/tmp"]
            if len(set(targets)) != len(targets):
                raise ValueError(f"two mounts share a target: {', '.join(targets)}")
        except ValueError as exc:
            raise KitError(f"invalid container walls: {exc}") from None

    def docker_args(self) -> list[str]:
        """`docker run` options (after `run`, before the image): no TTY, removed on exit, no fixed --name."""
        args = ["-i", "--rm", "--init", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
        args += ["--read-only", "--tmpfs", f"/tmp:{self._tmpfs_options()}", "--user", self.user]
        args += ["--memory", self.memory, "--memory-swap", self.memory, "--cpus", self.cpus]
        args += ["--pids-limit", str(self.pids)]
        if not self.engine_log:
            args += ["--log-driver", "none"]
        if self.network != "bridge":
            args += ["--network", self.network]
        for mount in self.mounts:
            args += ["--mount", mount.option()]
        for key, value in self.labels:
            args += ["--label", f"{key}={value}"]
        # By name only: docker copies the value from its own environment, which the client fills from its env
        # block. Only names that block sets: `-e NAME` with NAME unset would remove the image's own default.
        for name in self.env_names:
            args += ["-e", name]
        return args

    def sdk_kwargs(self) -> dict[str, Any]:
        """The same walls as keywords of the Docker SDK's `containers.create`/`run` (stdin attached, no TTY)."""
        from docker.types import LogConfig
        from docker.types import Mount as SdkMount

        return {
            "stdin_open": True, "tty": False, "init": True, "auto_remove": True,
            "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"], "read_only": True,
            "tmpfs": {"/tmp": self._tmpfs_options()}, "user": self.user,
            "mem_limit": self.memory, "memswap_limit": self.memory, "nano_cpus": int(cpus_value(self.cpus) * 1e9),
            "pids_limit": self.pids, "network_mode": self.network if self.network != "bridge" else None,
            "mounts": [SdkMount(m.target, m.source, type=m.kind) for m in self.mounts],
            "labels": dict(self.labels),
            **({} if self.engine_log else {"log_config": LogConfig(type=LogConfig.types.NONE)}),
        }  # fmt: skip

    def compose_service(self) -> dict[str, Any]:
        """The same walls in compose terms (format 2.4); networks and environment are the deployment's."""
        service: dict[str, Any] = {
            "init": True, "read_only": True, "tmpfs": [f"/tmp:{self._tmpfs_options()}"], "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"], "user": self.user, "mem_limit": self.memory,
            "memswap_limit": self.memory, "cpus": cpus_value(self.cpus), "pids_limit": self.pids,
            "labels": dict(self.labels),
        }  # fmt: skip
        if self.mounts:
            service["volumes"] = [f"{m.source}:{m.target}" for m in self.mounts]
        return service

    def k8s_resources(self) -> dict[str, Any]:
        memory = _quantity(self.memory)
        return {
            "limits": {"memory": memory, "cpu": self.cpus},
            "requests": {"memory": memory, "cpu": "100m"},
        }

    def k8s_tmpfs_limit(self) -> str:
        return _quantity(self.tmpfs_size)

    def _tmpfs_options(self) -> str:
        return f"rw,noexec,nosuid,nodev,size={self.tmpfs_size}"


def _quantity(size: str) -> str:
    """Docker's 512m is Kubernetes' 512Mi."""
    number, unit = SIZE.match(size.strip()).groups()  # type: ignore[union-attr]  # validated by Walls
    return number + {"": "", "k": "Ki", "m": "Mi", "g": "Gi"}[unit.lower()]
