"""A folder server's own code, added to the image of its dependencies in one container and one commit.

The image of its dependencies comes from the classic builder and stays cached while the lock, the base and the
recipe stay the same. The code goes on top in one step: a container of that image builds the folder's wheel,
installs it to /opt/server, byte-compiles it and runs the server's build commands (kit/image/code_install.py),
behind the same walls as source_build's throwaway container (no network, no capabilities, no new privileges; the
tree and the build backend read-only); committing it sets how the image starts, its user, its settings and its
labels. A code change so costs one container and one commit, where a wheel built apart and three builder
instructions (each a layer commit of seconds on this engine) cost four. The container runs as the server's numeric
user, or, for build commands, as root without capabilities, as the Dockerfile's build stage ran them (with them):
what they make is root's, which the server's user cannot change. What the build could write besides /opt/server
and the data dirs goes to tmpfs (/tmp, /var/tmp, the volumes' folders) or fails the build: the commit keeps it.

A server whose build needs the network keeps its code and build commands in the Dockerfile's build stage.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError
from docker.models.containers import Container
from docker.models.images import Image

from kit import identity
from kit.errors import KitError
from kit.image import code_install, source_build, wheelhouse
from kit.project.servers import Server, ServerDeclaration
from kit.project.settings import Settings
from kit.reporting import Reporter

_INSTALLER = Path(code_install.__file__)  # run in the container; kit takes only its paths


def applies(server: Server) -> bool:
    """A folder server whose build, if it has commands, needs no network."""
    return server.path is not None and not server.declaration.build_network


def as_root(declaration: ServerDeclaration) -> bool:
    """Build commands run as root, without its capabilities (the Dockerfile's build stage ran them with them), so
    their data dirs are root's as before and the server's user cannot change them; the code is root's too then."""
    return bool(declaration.build_commands or declaration.data_dirs)


@dataclass(frozen=True)
class Built:
    """The stopped container holding the installed code, and the server's wheel it built (for the host's checks)."""

    container: Container
    wheel: Path
    server: Server


@contextlib.contextmanager
def installed(
    client: docker.DockerClient,
    settings: Settings,
    target: wheelhouse.PythonTarget,
    dependencies: str,
    server: Server,
    labels: dict[str, str],
    keep: Path,
    reporter: Reporter,
) -> Iterator[Built]:
    """The server's code built and installed in a container of `dependencies` (an image id), which carries the
    image's `labels` (a commit keeps them); its wheel kept in `keep`; the container is removed on the way out."""
    assert server.path is not None
    reporter.step("adding the server's code (its wheel built in a container without network)")
    scratch_root = settings.cache_dir / "source-builds"
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="code-", dir=scratch_root) as scratch:
        source, backend, pip = source_build.prepare(settings, target, server.path, Path(scratch), reporter)
        out = Path(scratch) / "out"
        out.mkdir()
        os.chmod(out, 0o777)  # the container's numeric user writes the wheel here
        # The folders anyone may write to, and the volumes' (the server's user's): nothing there is committed.
        tmpfs = {
            "/tmp": "rw,exec,nosuid,nodev,size=1g",
            "/var/tmp": "rw,nosuid,nodev,size=64m",
            "/run/lock": "rw,nosuid,nodev,size=1m",
        } | {path: "rw,nosuid,nodev,size=64m" for path in server.declaration.volumes.values()}
        declaration = server.declaration
        installer = _INSTALLER.read_text(encoding="utf-8")
        command = [pip, json.dumps(declaration.build_commands), *source_build.build_backend(source)]
        container = client.containers.create(
            dependencies, command, entrypoint=["python3", "-I", "-S", "-c", installer], network_mode="none",
            cap_drop=["ALL"], security_opt=["no-new-privileges"],
            user="0:0" if as_root(declaration) else identity.CONTAINER_USER,
            mem_limit="1g", pids_limit=256, tmpfs=tmpfs, labels=labels,
            volumes={str(source): {"bind": code_install.SOURCE, "mode": "ro"},
                     str(backend): {"bind": code_install.WHEELS, "mode": "ro"},
                     str(out): {"bind": code_install.OUT, "mode": "rw"}},
        )  # fmt: skip
        try:
            _run(container, server)
            for note in _bundle_notes(container):
                reporter.step(note)
            wheels = list(out.glob("*.whl"))
            if len(wheels) != 1:
                raise KitError(f"building {server.path} gave {len(wheels)} wheels, not one")
            wheel = wheels[0]
            keep.mkdir(parents=True, exist_ok=True)
            yield Built(container, Path(shutil.copy2(wheel, keep / wheel.name)), server)
        finally:
            with contextlib.suppress(APIError):
                container.remove(force=True)


def commit(
    built: Built, entrypoint: list[str], args: list[str], env: dict[str, str], added: bytes | None = None
) -> Image:
    """The image: the container's new files on its image, with how it starts and its settings, in one commit;
    `added`, a tar of the kit's own files, put into its root first. What build commands (run as root) changed is
    checked while the engine commits: both walk the image's whole tree on this engine's storage driver (a second
    each), side by side they take less. A build that wrote outside its places fails, and its image is removed."""
    kit_files = _put(built.container, added) if added else []
    # An entrypoint given, the engine takes no command from the container (its build script): args may be empty.
    # The user is the image's again: the container's (root, for build commands) would otherwise stay on the image.
    conf = {"Entrypoint": entrypoint, "Cmd": args, "Env": [f"{k}={v}" for k, v in env.items()],
            "User": identity.CONTAINER_USER}  # fmt: skip
    if not as_root(built.server.declaration):  # its user can write only to /opt/server and tmpfs here
        return built.container.commit(conf=conf)
    with ThreadPoolExecutor(max_workers=1) as pool:
        changes = pool.submit(built.container.diff)
        image = built.container.commit(conf=conf)
    try:
        _check_changes([change["Path"] for change in changes.result() or []], built.server, kit_files)
    except BaseException:
        with contextlib.suppress(APIError):
            built.container.client.images.remove(image.id, force=True)
        raise
    return image


def _put(container: Container, archive: bytes) -> list[str]:
    """The tar's files put into the container's root: their paths, which the check of its changes lets by."""
    container.put_archive("/", archive)
    return tar_paths(archive)


def tar_paths(archive: bytes) -> list[str]:
    """The absolute paths a tar put into a container's root makes, as the engine lists its changes."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as members:
        return ["/" + name.strip("/") for name in members.getnames()]


def _run(container: Container, server: Server) -> None:
    container.start()
    status = container.wait().get("StatusCode", 1)
    if status != 0:
        stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise KitError(
            f"building and installing the code of {server.path} failed (in a container without network):\n{tail}",
            hint=f"check {server.path}/pyproject.toml; its build backend must come as wheels from the index",
        )


def _bundle_notes(container: Container) -> list[str]:
    """Why the image has no start bundle, if the step said (its build goes on without one)."""
    stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
    return [
        line.removeprefix("note: ")
        for line in stderr.splitlines()
        if line.startswith("note: no start bundle")
    ]


def _check_changes(changed: list[str], server: Server, kit_files: list[str]) -> None:
    """Fails the build unless what changed is within /opt/server and the data dirs (and the folders above them,
    which the Dockerfile's COPY made as well), or is a file the kit put there itself; and unless the data dirs were
    made. What the Dockerfile's build stage left elsewhere was never kept, and here the commit would keep it."""
    stray, missing = unkept(changed, ["/opt/server", *server.declaration.data_dirs], kit_files)
    missing = [path for path in missing if path in server.declaration.data_dirs]
    if stray or missing:
        raise KitError(
            f"the build of {server.path} "
            + (f"wrote outside /opt/server and its data-dirs: {', '.join(stray[:5])}" if stray else "")
            + (" and " if stray and missing else "")
            + (f"did not make its data-dirs {', '.join(missing)}" if missing else ""),
            hint="build commands write what the image keeps under a path of data-dirs (scratch files under /tmp)",
        )


def unkept(changed: list[str], kept: list[str], exempt: list[str]) -> tuple[list[str], list[str]]:
    """The changed paths neither within nor above a folder of `kept` nor in `exempt` (sorted), and the folders of
    `kept` nothing changed within."""
    stray = sorted(
        path
        for path in changed
        if path not in exempt and not any(_within(path, folder) or _within(folder, path) for folder in kept)
    )
    return stray, [folder for folder in kept if not any(_within(path, folder) for path in changed)]


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
