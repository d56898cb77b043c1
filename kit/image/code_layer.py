"""A folder server's own code, added to the image of its dependencies as one layer.

The image of its dependencies comes from the classic builder and stays cached while the lock, the base and the
recipe stay the same. The code goes on top in one step: a container of that image builds the folder's wheel,
installs it to /opt/server, byte-compiles it and runs the server's build commands (kit/image/code_install.py),
behind the same walls as source_build's throwaway container (no network, no capabilities, no new privileges; the
tree and the build backend read-only). Its root is read-only too: it writes only to /opt/server and the data dirs
(volumes of its own, which the image keeps) and to tmpfs (/tmp, /var/tmp, the volumes' folders, which it does not),
so a build command that writes anywhere else fails there. What it keeps comes out as a tar; the host checks that
it holds only those folders and plain files, links and folders, and loads it as a layer on the dependencies'
image with how the image starts, its user, settings and labels (kit/image/layer_image.py): no commit, whose walk of
the whole tree costs seconds on this engine. The container runs as the server's numeric user, or, for build
commands, as root without capabilities, as the Dockerfile's build stage ran them (with them): what they make is
root's, which the server's user cannot change.

A server whose build needs the network keeps its code and build commands in the Dockerfile's build stage.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import Mount

from kit import identity
from kit.errors import KitError
from kit.image import build_outputs, code_install, layer_image, source_build, wheelhouse
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


def kept(declaration: ServerDeclaration) -> list[str]:
    """The folders the image keeps of the code step: the code's, then the data dirs."""
    return ["/opt/server", *declaration.data_dirs]


@dataclass(frozen=True)
class Built:
    """What the code step kept (a tar of paths from the root) on the image `dependencies`, with its `labels`, and
    the server's wheel it built (for the host's checks); the build commands' earlier output, when it was `reused`
    instead of running them, or the `digest` their output is kept for (kit/image/build_outputs.py)."""

    layer: Path
    wheel: Path
    server: Server
    dependencies: str
    labels: dict[str, str]
    client: docker.DockerClient
    settings: Settings
    reused: Path | None = None
    digest: str | None = None


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
    """The server's code built and installed in a container of `dependencies` (an image id), for an image with
    `labels`; its wheel kept in `keep`, what it kept in a layer of the scratch folder, both until the way out."""
    assert server.path is not None
    reporter.step("adding the server's code (its wheel built in a container without network)")
    scratch_root = settings.cache_dir / "source-builds"
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="code-", dir=scratch_root) as scratch:
        source, backend, pip = source_build.prepare(settings, target, server.path, Path(scratch), reporter)
        out = Path(scratch) / "out"
        out.mkdir()
        os.chmod(out, 0o777)  # the container's numeric user writes the wheel here
        # The folders anyone may write to, and the volumes' (the server's user's): nothing there is kept.
        tmpfs = {
            "/tmp": "rw,exec,nosuid,nodev,size=1g",
            "/var/tmp": "rw,nosuid,nodev,size=64m",
            "/run/lock": "rw,nosuid,nodev,size=1m",
        } | {path: "rw,nosuid,nodev,size=64m" for path in server.declaration.volumes.values()}
        declaration = server.declaration
        installer = _INSTALLER.read_text(encoding="utf-8")
        digest = build_outputs.key(server, source, dependencies, as_root(declaration))
        reused = build_outputs.recalled(settings, server, digest)
        if reused:
            reporter.step(
                "build commands not run: their build-inputs are as before, and so is what they wrote"
            )
        commands, folders = (
            ([], ["/opt/server"]) if reused else (declaration.build_commands, kept(declaration))
        )
        command = [pip, json.dumps(commands), json.dumps(folders), *source_build.build_backend(source)]
        # Anonymous volumes (on disk, as the image's data may be large), removed with the container; a new one
        # takes the image's folder's owner, so /opt/server is the server's user's when it is in the image.
        container = client.containers.create(
            dependencies, command, entrypoint=["python3", "-I", "-S", "-c", installer], network_mode="none",
            cap_drop=["ALL"], security_opt=["no-new-privileges"], read_only=True,
            user="0:0" if as_root(declaration) else identity.CONTAINER_USER,
            mem_limit="1g", pids_limit=256, tmpfs=tmpfs, labels=labels,
            mounts=[Mount(folder, None, type="volume") for folder in folders],
            volumes={str(source): {"bind": code_install.SOURCE, "mode": "ro"},
                     str(backend): {"bind": code_install.WHEELS, "mode": "ro"},
                     str(out): {"bind": code_install.OUT, "mode": "rw"}},
        )  # fmt: skip
        try:
            _run(container, server)
            for note in _bundle_notes(container):
                reporter.step(note)
        finally:
            with contextlib.suppress(APIError):
                container.remove(force=True, v=True)
        wheels = list(out.glob("*.whl"))
        if len(wheels) != 1:
            raise KitError(f"building {server.path} gave {len(wheels)} wheels, not one")
        wheel = wheels[0]
        keep.mkdir(parents=True, exist_ok=True)
        yield Built(out / Path(code_install.LAYER).name, Path(shutil.copy2(wheel, keep / wheel.name)), server,
                    dependencies, labels, client, settings, reused, digest)  # fmt: skip


def image(
    built: Built, entrypoint: list[str], args: list[str], env: dict[str, str], added: bytes | None = None
) -> Image:
    """The image: what the code step kept, checked, on the dependencies' image as one layer, with how it starts,
    its settings and labels; `added`, a tar of the kit's own files, in that layer too."""
    layer = built.layer.with_name("checked.tar")
    checked_layer(built.layer, layer, built.server, added, built.reused)
    if built.digest and not built.reused:
        build_outputs.remember(built.settings, built.server, built.digest, layer)
    return layer_image.with_layer(
        built.client, built.dependencies, layer, entrypoint, args, env, built.labels
    )


def checked_layer(
    kept_tar: Path, layer: Path, server: Server, added: bytes | None, reused: Path | None = None
) -> None:
    """`kept_tar`, which code the server brings wrote, then `reused` (the build commands' earlier output), copied
    to `layer` if they hold only what the code step keeps (the folders of `kept` and the folders above them), as
    files, folders and links, and the data dirs are not empty; then `added`. The container's root is read-only, so
    a build command cannot have written elsewhere: this is the wall's second side, against a tar that says
    otherwise (a build command may rewrite it before the container stops). So what it claims of owners, modes and
    attributes is not taken either: the files are the container's user's, as it could only have made them."""
    folders = kept(server.declaration)
    above = {parent for folder in folders for parent in code_install.parents(folder)}
    user = identity.CONTAINER_USER.split(":")
    owner = (0, 0) if as_root(server.declaration) else (int(user[0]), int(user[1]))
    names: set[str] = set()
    links: set[str] = set()  # symbolic links: nothing goes through them
    with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as out:
        for tar in [kept_tar, *([reused] if reused else [])]:
            with tarfile.open(tar) as source:
                for member in source:
                    path = _checked_path(member, folders, above, names, links, server)
                    if path not in names:  # a folder above both the code and the data dirs comes once
                        names.add(path)
                        if member.issym():
                            links.add(path)
                        _own(member, (0, 0) if path in above else owner)
                        out.addfile(member, source.extractfile(member) if member.isreg() else None)
        if added:
            with tarfile.open(fileobj=io.BytesIO(added)) as kit_files:
                for member in kit_files:
                    out.addfile(member, kit_files.extractfile(member) if member.isreg() else None)
    empty = [d for d in server.declaration.data_dirs if not any(_within(n, d) and n != d for n in names)]
    if empty:
        raise KitError(
            f"the build of {server.path} did not write into its data-dirs {', '.join(empty)}",
            hint="build commands write what the image keeps under a path of data-dirs (scratch files under /tmp)",
        )


def _checked_path(
    member: tarfile.TarInfo, folders: list[str], above: set[str], names: set[str], links: set[str],
    server: Server,
) -> str:  # fmt: skip
    path = posixpath.normpath("/" + member.name.lstrip("/"))  # an absolute name is refused below
    within = any(_within(path, folder) for folder in folders)
    # The kept folders and those above them stay folders; nothing is kept beneath a symbolic link, which the
    # engine's unpacking (inside the layer's folder) would follow to a place of the layer outside them.
    where = (within or path in above) and (member.isdir() or path not in [*folders, *above])
    through = any(parent in links for parent in code_install.parents(path))
    link = member.islnk() and posixpath.normpath("/" + member.linkname) in names  # to a file kept before it
    kind = member.isreg() or member.isdir() or member.issym() or link
    plain = not member.name.startswith("/") and ".." not in member.name.split("/")
    # A name the engine reads as a whiteout would delete what the image below holds.
    whiteout = posixpath.basename(path).startswith(".wh.")
    if not (where and kind and plain) or through or whiteout:
        raise KitError(
            f"the build of {server.path} left {path} ({_kind(member)}) in what the image keeps, which may hold "
            "only files, folders and links within /opt/server and its data-dirs",
            hint="build commands write what the image keeps under a path of data-dirs (scratch files under /tmp)",
        )
    return path


def _own(member: tarfile.TarInfo, owner: tuple[int, int]) -> None:
    """Owned by `owner` (the folders above the kept ones by root, as the engine made them), without set-user or
    set-group id, and without extended attributes, which would carry file capabilities."""
    member.uid, member.gid = owner
    member.uname = member.gname = ""
    member.mode &= 0o1777
    member.pax_headers = {}


def _kind(member: tarfile.TarInfo) -> str:
    return "a folder" if member.isdir() else "a file" if member.isreg() else "a link" if member.issym() or (
        member.islnk()) else "a device or pipe"  # fmt: skip


def _run(container: Container, server: Server) -> None:
    container.start()
    status = container.wait().get("StatusCode", 1)
    if status != 0:
        stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise KitError(
            f"building and installing the code of {server.path} failed (in a container without network):\n{tail}",
            hint=f"check {server.path}/pyproject.toml; its build backend must come as wheels from the index, and "
            "its build commands write only under /opt/server, its data-dirs (made, empty, before they start) and "
            "/tmp: the rest is read-only",
        )


def _bundle_notes(container: Container) -> list[str]:
    """Why the image has no start bundle, if the step said (its build goes on without one)."""
    stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
    return [
        line.removeprefix("note: ")
        for line in stderr.splitlines()
        if line.startswith("note: no start bundle")
    ]


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
