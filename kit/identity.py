"""An image's identity: its tag, and the labels the kit puts on the images it builds and the containers it starts.

Configuring a client, listing, collecting garbage and diagnosing all ask these questions; none of them needs the
builder to answer them.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
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
TOOLS = LABEL_PREFIX + "tools"  # the server's tools/list result as its smoke test got it, compact JSON
SMOKE_TEST = LABEL_PREFIX + "smoke-test"  # on the containers of a build's smoke test
PROJECT = LABEL_PREFIX + "project"  # the project an image, container or volume belongs to (its project_id)

CONTAINER_USER = "10001:10001"  # numeric, so no base image needs a passwd entry; images and run args agree


def project_id(project_dir: Path) -> str:
    """Names a project by where it is: two checkouts, or two projects with the same server names, never share an
    image, a build stage or a volume. Derived from the path, so no project file can claim another's."""
    return hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:12]


def project_slug(project_dir: Path) -> str:
    """The project's id as people read it in image and volume names: its folder's name, then the id."""
    name = re.sub(r"[^a-z0-9]+", "-", project_dir.resolve().name.lower()).strip("-")[:24] or "project"
    return f"{name}-{project_id(project_dir)[:6]}"


def image_tag(settings: Settings, server: Server) -> str:
    """The image a server runs: the one the kit builds for it, or the prebuilt image it names."""
    if server.image is not None:
        return server.image
    return f"{settings.image_prefix}/{project_slug(server.project_dir)}/{server.name}:{server.version}"


def volume_name(server: Server, volume: str) -> str:
    """The named volume a server's declared volume lives on, by default: its project's own."""
    return f"mcpkit-{project_slug(server.project_dir)}-{server.name}-{volume}"


def labels_of(image: Image) -> dict[str, str]:
    return image.labels or {}


def dependencies_of(image: Image) -> list[str]:
    """The resolved dependency list the build recorded in the image's labels."""
    return [d for d in labels_of(image).get(DEPENDENCIES, "").split("\n") if d]
