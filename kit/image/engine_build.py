"""The engine's two ways of making a server's image: the classic builder's build, its log streamed, and one commit
that sets how the built image starts."""

from __future__ import annotations

from pathlib import Path

import docker
from docker.errors import APIError
from docker.models.images import Image

from kit.errors import KitError
from kit.image.dockerfile import entrypoint, expander_archive, expands
from kit.project.servers import ServerDeclaration
from kit.reporting import Reporter


def configured(
    client: docker.DockerClient,
    built: str,
    declaration: ServerDeclaration,
    scripts: dict[str, str],
    labels: dict[str, str],
) -> Image:
    """The built image with how it starts, its arguments, settings and labels, set in one commit: the classic
    builder would spend a layer commit (seconds each) on every ENTRYPOINT, CMD, ENV and LABEL instruction. The
    argument expander, when the arguments name variables, is a file of that same commit."""
    container = client.containers.create(
        built,
        entrypoint=entrypoint(declaration, scripts),
        command=declaration.args,  # with an entrypoint given, an empty command clears the base image's CMD
        environment=declaration.image_env,
        labels=labels,
        network_disabled=True,
    )
    try:
        if expands(declaration):
            container.put_archive("/", expander_archive())
        return container.commit()
    finally:
        container.remove(force=True)


def classic_build(
    client: docker.DockerClient, context: Path, base_image: str, reporter: Reporter, *, network: bool
) -> str:
    """The classic builder, its log streamed; without a network unless the server declares `build-network`."""
    image_id = None
    tail: list[str] = []
    try:
        stream = client.api.build(
            path=str(context),
            buildargs={"BASE_IMAGE": base_image},
            rm=True,
            forcerm=True,
            decode=True,
            network_mode="default" if network else "none",
        )
        for chunk in stream:
            if "stream" in chunk:
                for line in chunk["stream"].splitlines():
                    if line.strip():
                        reporter.detail(line)
                        tail = [*tail[-29:], line]
            if "error" in chunk:
                raise KitError(
                    f"image build failed: {chunk['error'].strip()}\n" + "\n".join(tail[-15:]),
                    hint="the build runs without network: every dependency comes from the wheelhouse, and a "
                    "build command that needs the network says so with build-network = true",
                )
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = str(chunk["aux"]["ID"])
    except APIError as exc:
        raise KitError(f"the Docker engine refused the build: {exc.explanation or exc}") from None
    if image_id is None:
        raise KitError("the build finished without producing an image:\n" + "\n".join(tail[-15:]))
    return image_id
