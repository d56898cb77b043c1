"""A server image's recipe: the Dockerfile rendered from images/server.Dockerfile and the server's declaration, and
the configuration (start command, arguments, settings) set on the built image."""

from __future__ import annotations

import io
import json
import shlex
import tarfile
from pathlib import Path

from kit.identity import CONTAINER_USER, project_id
from kit.image import code_layer, start_bundle
from kit.image.system_packages import INSTALLER
from kit.project.servers import Server, ServerDeclaration
from kit.resources import images_dir
from mcpkit_runtime import argv

_PIP = "/opt/pip/bin/python -m pip --python /opt/venv/bin/python install --no-index --no-deps --no-compile"
_COMPILE = "/opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash"
_COMPILE_NOTE = 'echo "note: the files above do not byte-compile; they stay as they are"'


def entrypoint(declaration: ServerDeclaration, scripts: dict[str, str] | None = None) -> list[str]:
    """The command the container starts with; its arguments follow as CMD, so they show in `docker inspect`.
    Arguments that name variables (`${NAME}`) start through the expander (mcpkit_runtime/argv.py), which fills
    them in inside the container and starts the server in its place."""
    command = _server_command(declaration, scripts)
    return [*EXPANDER, *command] if expands(declaration) else command


# Isolated (-I) and without site (-S): the expander needs the standard library only, and no setting can change it.
EXPANDER = ["python", "-I", "-S", argv.IN_IMAGE]


def expands(declaration: ServerDeclaration) -> bool:
    """Its arguments hold `${NAME}` (or an escaped `$${NAME}`), so the image starts through the expander."""
    return any(argv.REFERENCE.search(arg) for arg in declaration.args)


def expander_source() -> bytes:
    return Path(argv.__file__).read_bytes()


def expander_archive() -> bytes:
    """The expander as a tar to put into the image's root: one file, readable by the server's user."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo(str(Path(argv.IN_IMAGE).parent).lstrip("/"))
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(folder)
        source = expander_source()
        file = tarfile.TarInfo(argv.IN_IMAGE.lstrip("/"))
        file.size, file.mode = len(source), 0o644
        archive.addfile(file, io.BytesIO(source))
    return buffer.getvalue()


def _server_command(declaration: ServerDeclaration, scripts: dict[str, str] | None) -> list[str]:
    """A console script starts as the function it names (from the wheels' `scripts`), like `module:function`."""
    target = declaration.function or (scripts or {}).get(declaration.script or "")
    if target:
        module, function = target.split(":")
        return ["python", "-c", f"import sys; from {module} import {function}; sys.exit({function}())"]
    if declaration.script:
        return [f"/opt/venv/bin/{declaration.script}"]
    if declaration.module:
        return ["python", "-m", declaration.module]
    raise ValueError("the declaration says neither module, script nor function")


def template() -> str:
    return (images_dir() / "server.Dockerfile").read_text(encoding="utf-8")


def stage_key(server: Server) -> str:
    """Names a server's build stage: its project and its name (two projects' `analyst` differ)."""
    return f"{project_id(server.project_dir)}/{server.name}"


def render_dockerfile(server: Server, declaration: ServerDeclaration | None = None) -> str:
    """`declaration` is the server's own, completed with how it starts when the build had to find that out."""
    declaration = declaration or server.declaration
    steps = []
    layered = code_layer.applies(server)
    # The code of a folder goes on the image of its dependencies in one step; the folder's /opt/server, empty here,
    # is made its user's so that step can fill it.
    server_copy = (
        f"COPY --from=build --chown={CONTAINER_USER} /opt/server /opt/server"
        if layered and not code_layer.as_root(declaration)
        else "COPY --from=build /opt/server /opt/server"
    )
    if server.path is not None and not layered:  # a folder: its own wheel, apart from its dependencies
        steps += [
            "COPY server /server",
            f"RUN {_PIP} --target /opt/server /server/*.whl && {{ {_COMPILE} /opt/server || {_COMPILE_NOTE}; }}",
        ]
    if not layered:  # otherwise they run in the code's step, after it is installed
        steps += [f"RUN {json.dumps(command)}" for command in declaration.build_commands]
        if declaration.build_commands:  # they may change the venv: its bundle is recorded again after them
            steps.append(f"RUN {start_bundle.DEPENDENCIES_RECORDING}")
    # Owned by the server's user, so a fresh named volume mounted there starts writable for it. Made before the
    # server is installed, so these copies come from the cache when only the server's code changed.
    volume_copies = [
        f"COPY --from=build --chown={CONTAINER_USER} {path} {path}" for path in declaration.volumes.values()
    ]
    data_copies = [] if layered else [f"COPY --from=build {path} {path}" for path in declaration.data_dirs]
    # Made in the build stage: the volumes' folders, and the data dirs of build commands run here, which find them
    # made (and empty) as they do in the code's step, where they are its only writable places besides tmpfs.
    made_dirs = [*declaration.volumes.values(), *([] if layered else declaration.data_dirs)]
    # Baked-in files (kit/image/baked_files.py), before the server's code: a model stays cached when the code changes.
    file_copies = [f"COPY files/{i} {target}" for i, target in enumerate(sorted(declaration.files))]
    # System packages (kit/image/system_packages.py): unpacked in the build stage, copied over the root in one layer.
    system_steps = ["COPY debs /debs", f"RUN sh /debs/{INSTALLER}"] if declaration.system_packages else []
    system_copies = ["COPY --from=build /opt/system/ /"] if declaration.system_packages else []
    return (
        template()
        .replace("{{stage}}", stage_key(server))
        .replace("{{start_hook}}", start_bundle.build_stage_commands())
        .replace("{{made_dirs}}", " ".join(shlex.quote(p) for p in made_dirs))
        .replace("{{system_steps}}", "\n".join(system_steps))
        .replace("{{system_copies}}", "\n".join(system_copies))
        .replace("{{server_steps}}", "\n".join(steps))
        .replace("{{volume_copies}}", "\n".join(volume_copies))
        .replace("{{file_copies}}", "\n".join(file_copies))
        .replace("{{server_copy}}", server_copy)
        .replace("{{data_copies}}", "\n".join(data_copies))
    )
