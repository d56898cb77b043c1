"""The Dockerfile of a server image, rendered from images/server.Dockerfile and the server's declaration."""

from __future__ import annotations

import hashlib
import json

from kit.identity import CONTAINER_USER
from kit.project.servers import Server, ServerDeclaration
from kit.resources import images_dir

_INSTALL_SERVER = (
    " \\\n && /opt/pip/bin/python -m pip --python /opt/venv/bin/python install --no-index --no-deps --no-compile"
    " /wheels/server/*.whl"
)


def entrypoint(declaration: ServerDeclaration) -> list[str]:
    """The command the container starts with (its arguments follow as CMD, so they show in `docker inspect`)."""
    if declaration.script:
        return [f"/opt/venv/bin/{declaration.script}"]
    if declaration.function:
        module, function = declaration.function.split(":")
        return ["python", "-c", f"import sys; from {module} import {function}; sys.exit({function}())"]
    if declaration.module:
        return ["python", "-m", declaration.module]
    raise ValueError("the declaration says neither module, script nor function")


def template() -> str:
    return (images_dir() / "server.Dockerfile").read_text(encoding="utf-8")


def stage_key(server: Server) -> str:
    """Names a server's build stage: its project and its name (two projects' `analyst` differ)."""
    return f"{hashlib.sha256(str(server.project_dir.resolve()).encode()).hexdigest()[:12]}/{server.name}"


def render_dockerfile(server: Server, declaration: ServerDeclaration | None = None) -> str:
    """`declaration` is the server's own, completed with how it starts when the build had to find that out."""
    declaration = declaration or server.declaration
    steps = "\n".join(f"RUN {json.dumps(command)}" for command in declaration.build_commands)
    copies = "\n".join(f"COPY --from=build {path} {path}" for path in declaration.data_dirs)
    env = "\n".join(f"ENV {key}={json.dumps(value)}" for key, value in declaration.image_env.items())
    # Owned by the server's user, so a fresh named volume mounted there starts writable for it.
    volume_dirs = "\n".join(
        f"RUN mkdir -p {path} && chown {CONTAINER_USER} {path}" for path in declaration.volumes.values()
    )
    return (
        template()
        .replace("{{stage}}", stage_key(server))
        .replace("{{install_server}}", _INSTALL_SERVER if server.path is not None else "")
        .replace("{{build_steps}}", steps)
        .replace("{{data_copies}}", copies)
        .replace("{{image_env}}", env)
        .replace("{{volume_dirs}}", volume_dirs)
        .replace("{{entrypoint}}", json.dumps(entrypoint(declaration)))
        .replace("{{cmd}}", f"CMD {json.dumps(declaration.args)}" if declaration.args else "")
    )
