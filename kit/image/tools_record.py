"""The tools a server listed in its build's smoke test, recorded on its image (the label io.mcpkit.tools), so a
gateway answers the handshake and tools/list before any of its containers has started.

The record is on the very image it describes: the gateway reads it from the image it then starts (by id), so the
two cannot disagree; a server whose tools depend on its settings announces the difference when it starts
(notifications/tools/list_changed). Set by loading the image's configuration again with the record among its
labels, its layers named and not carried (kit/image/layer_image.py): a tenth of a second, where a commit of a
container that changes nothing walks the image's whole tree on this engine's storage driver (a second or more).

A code change seldom changes the tools, so a build makes its image with the record of the server's current image,
as a guess, and the smoke test settles it before the image is tagged: a wrong guess costs that extra load.
"""

from __future__ import annotations

import docker
import mcp_types as types
from docker.errors import ImageNotFound
from docker.models.images import Image

from kit import identity
from kit.image import layer_image

# Every inspect of the image carries its labels: a list past this is not recorded (the gateway then keeps what the
# server listed when it last started it).
MAX_BYTES = 128 * 1024


def record_text(tools: types.ListToolsResult) -> str | None:
    """The tools/list result as compact JSON, or None when it is too large to carry on the image."""
    text = types.ListToolsResult(tools=tools.tools).model_dump_json(by_alias=True, exclude_none=True)
    return text if len(text.encode()) <= MAX_BYTES else None


def with_record(client: docker.DockerClient, image: Image, text: str) -> Image:
    """The image with the record among its labels (its start, settings and other labels as they were)."""
    return layer_image.relabelled(client, image.id, {identity.TOOLS: text})


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
