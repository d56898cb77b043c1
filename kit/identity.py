"""An image's identity: its tag, and the labels the kit puts on the images it builds and the containers it starts.

Configuring a client, listing, collecting garbage and diagnosing all ask these questions; none of them needs the
builder to answer them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docker.models.images import Image

    from kit.project.servers import Server
    from kit.project.settings import Settings

LABEL_PREFIX = "io.mcpkit."
MANAGED = LABEL_PREFIX + "managed"  # on every image and container the kit makes
SERVER = LABEL_PREFIX + "server"  # the server's name, on its images and containers
SERVER_VERSION = LABEL_PREFIX + "server-version"
KIT_VERSION = LABEL_PREFIX + "kit-version"
SOURCE_HASH = LABEL_PREFIX + "source-hash"
BUILD_HASH = LABEL_PREFIX + "build-hash"  # everything the image is made from: equal means current
BASE_IMAGE = LABEL_PREFIX + "base-image"
PYTHON = LABEL_PREFIX + "python"
DEPENDENCIES = LABEL_PREFIX + "dependencies"  # the installed distributions, one `name==version` per line
SMOKE_TEST = LABEL_PREFIX + "smoke-test"  # on the containers of a build's smoke test

CONTAINER_USER = "10001:10001"  # numeric, so no base image needs a passwd entry; images and run args agree


def image_tag(settings: Settings, server: Server) -> str:
    return f"{settings.image_prefix}/{server.name}:{server.version}"


def labels_of(image: Image) -> dict[str, str]:
    return image.labels or {}


def dependencies_of(image: Image) -> list[str]:
    """The resolved dependency list the build recorded in the image's labels."""
    return [d for d in labels_of(image).get(DEPENDENCIES, "").split("\n") if d]
