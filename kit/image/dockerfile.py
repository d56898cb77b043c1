"""The Dockerfile of a server image, rendered from images/server.Dockerfile and the server's declaration."""

from __future__ import annotations

import json

from kit.identity import CONTAINER_USER
from kit.project.servers import Server
from kit.resources import images_dir


def render_dockerfile(server: Server) -> str:
    declaration = server.declaration
    template = (images_dir() / "server.Dockerfile").read_text(encoding="utf-8")
    steps = "\n".join(f"RUN {json.dumps(command)}" for command in declaration.build_commands)
    copies = "\n".join(f"COPY --from=build {path} {path}" for path in declaration.data_dirs)
    env = "\n".join(f"ENV {key}={json.dumps(value)}" for key, value in declaration.image_env.items())
    # Owned by the server's user, so a fresh named volume mounted there starts writable for it.
    volume_dirs = "\n".join(
        f"RUN mkdir -p {path} && chown {CONTAINER_USER} {path}" for path in declaration.volumes.values()
    )
    return (
        template.replace("{{build_steps}}", steps)
        .replace("{{data_copies}}", copies)
        .replace("{{image_env}}", env)
        .replace("{{volume_dirs}}", volume_dirs)
        .replace("{{module}}", declaration.module)
    )
