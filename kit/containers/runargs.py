"""The hardened `docker run` command line that launches a server over stdio.

Client configs and the build's smoke test both use it, so what is tested is exactly what clients run.
"""

from __future__ import annotations

from kit.identity import CONTAINER_USER, MANAGED, SERVER
from kit.project.servers import Server


def docker_run_args(
    server: Server,
    image: str,
    *,
    extra_labels: dict[str, str] | None = None,
    network: str | None = None,
    volumes: dict[str, str] | None = None,
    env_names: list[str] | None = None,
) -> list[str]:
    """Arguments after `docker`: stdio attached, no TTY, removed on exit, no fixed --name (clients may start twice).

    `network` attaches the container to that Docker network (say, the one a database is on); by default a server
    gets none unless it declares it needs one. A declared volume is a named Docker volume unless `volumes` maps its
    name to a host folder, which is bind-mounted instead (it must be writable by the container user).
    `env_names` are the variables the client sets (by name only); see below.
    """
    limits = server.declaration.limits
    args = ["run", "-i", "--rm", "--init"]
    args += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    args += ["--read-only", "--tmpfs", f"/tmp:rw,noexec,nosuid,nodev,size={limits.tmpfs_size}"]
    args += ["--user", CONTAINER_USER]
    args += ["--memory", limits.memory, "--memory-swap", limits.memory, "--cpus", limits.cpus]
    args += ["--pids-limit", str(limits.pids)]
    if network:
        args += ["--network", network]
    elif not server.declaration.network:
        args += ["--network", "none"]
    for name, target in server.declaration.volumes.items():
        host = (volumes or {}).get(name)
        source = f"type=bind,source={host}" if host else f"type=volume,source=mcpkit-{server.name}-{name}"
        args += ["--mount", f"{source},target={target}"]
    labels = {MANAGED: "true", SERVER: server.name, **(extra_labels or {})}
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    # By name only: docker copies the value from its own environment, which the client fills from the env block.
    # Only names that block sets: `-e NAME` with NAME unset would remove the image's own default for it.
    for name in env_names or []:
        args += ["-e", name]
    return [*args, image]
