"""The tools a server listed in its build's smoke test, recorded on its image (the label io.mcpkit.tools), so a
gateway answers the handshake and tools/list before any of its containers has started.

The record is on the very image it describes: the gateway reads it from the image it then starts (by id), so the
two cannot disagree; a server whose tools depend on its settings announces the difference when it starts
(notifications/tools/list_changed). Set by a commit of a container that changes nothing, as the image's start and
labels are (the classic builder would spend a layer commit on a LABEL instruction).

A code change seldom changes the tools, so a build commits its image with the record of the server's current image,
as a guess, and the smoke test settles it before the image is tagged: a wrong guess costs that extra commit, a right
one saves it (seconds each on this engine).
"""

from __future__ import annotations

import docker
import mcp_types as types
from docker.errors import ImageNotFound
from docker.models.images import Image

from kit import identity

# Every inspect of the image carries its labels: a list past this is not recorded (the gateway then keeps what the
# server listed when it last started it).
MAX_BYTES = 128 * 1024


def record_text(tools: types.ListToolsResult) -> str | None:
    """The tools/list result as compact JSON, or None when it is too large to carry on the image."""
    text = types.ListToolsResult(tools=tools.tools).model_dump_json(by_alias=True, exclude_none=True)
    return text if len(text.encode()) <= MAX_BYTES else None


def with_record(client: docker.DockerClient, image: Image, text: str) -> Image:
    """The image with the record among its labels (its start, settings and other labels as they were)."""
    container = client.containers.create(image.id, labels={identity.TOOLS: text}, network_disabled=True)
    try:
        return container.commit()
    finally:
        container.remove(force=True)


def guess(client: docker.DockerClient, tag: str) -> str | None:
    """The record on the image `tag` names now (the server's last build), if any."""
    try:
        return identity.labels_of(client.images.get(tag)).get(identity.TOOLS) or None
    except ImageNotFound:
        return None


def settled(client: docker.DockerClient, image: Image, guessed: str | None, text: str | None) -> Image:
    """The image with `text`, what its smoke test listed, as its record (none when None): as it is when it was
    committed with that guess, else committed again with it."""
    if (guessed or None) == (text or None):
        return image
    return with_record(client, image, text or "")
