"""An image made of another image and one more layer, given as a tar: loaded (`docker load`), not committed.

A commit asks the engine for a container's changes, and on this engine's storage driver (fuse-overlayfs, a naive
diff driver) that walks the image's whole tree and its parent's, a second or more even for a layer of a few files.
A load of an archive that names the parent's layers by their ids and carries only the new one applies that layer as
it is (untarred into a folder of its own): a tenth of a second. Its configuration (how it starts, its user,
settings and labels) is the parent's with those set, as a commit with them would make it; the image has no history
(nothing reads it) and no parent (it is never a build's cache).

An engine that cannot load an archive without the layers it already holds (the containerd image store keeps blobs,
not layers) gets the layer put into a container of the parent, and that committed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError
from docker.models.images import Image

from kit import identity


def diff_id(layer: Path) -> str:
    """The layer's id as an image's rootfs lists it: the digest of its uncompressed tar."""
    with layer.open("rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


def image_config(
    parent: dict[str, Any], layer_id: str, entrypoint: list[str], args: list[str], env: dict[str, str],
    labels: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    """The configuration of the parent image (`parent`, as the engine inspects it) with one more layer, and how it
    starts, its settings (over the parent's, by name) and labels (beside the parent's) set as a commit sets them."""
    config = dict(parent["Config"])
    given = [f"{name}={value}" for name, value in env.items()]
    inherited = [entry for entry in config.get("Env") or [] if entry.split("=", 1)[0] not in env]
    config |= {"Entrypoint": entrypoint, "Cmd": args, "Env": given + inherited, "User": identity.CONTAINER_USER,
               "Labels": (config.get("Labels") or {}) | labels, "Image": parent["Id"]}  # fmt: skip
    return _document(parent, config, [*parent["RootFS"]["Layers"], layer_id])


def _document(image: dict[str, Any], config: dict[str, Any], layers: list[str]) -> dict[str, Any]:
    return {
        "architecture": image["Architecture"],
        "os": image["Os"],
        **({"variant": image["Variant"]} if image.get("Variant") else {}),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": layers},
        "history": [],
    }


def with_layer(
    client: docker.DockerClient, parent_id: str, layer: Path, entrypoint: list[str], args: list[str],
    env: dict[str, str], labels: dict[str, str],
) -> Image:  # fmt: skip
    """The image of `parent_id` with `layer` (a tar of paths from the root) on top, configured."""
    parent = client.api.inspect_image(parent_id)
    document = image_config(parent, diff_id(layer), entrypoint, args, env, labels)
    try:
        return _loaded(client, document, len(parent["RootFS"]["Layers"]), layer)
    except APIError:
        return _committed(client, parent_id, layer, entrypoint, args, env, labels)


def relabelled(client: docker.DockerClient, image_id: str, labels: dict[str, str]) -> Image:
    """The image with `labels` set beside its own: its layers and the rest of its configuration as they are."""
    image = client.api.inspect_image(image_id)
    config = dict(image["Config"])
    config["Labels"] = (config.get("Labels") or {}) | labels
    try:
        return _loaded(
            client, _document(image, config, image["RootFS"]["Layers"]), len(image["RootFS"]["Layers"])
        )
    except APIError:
        container = client.containers.create(image_id, labels=labels, network_disabled=True)
        try:
            return container.commit()
        finally:
            container.remove(force=True)


def _loaded(
    client: docker.DockerClient, document: dict[str, Any], held: int, layer: Path | None = None
) -> Image:
    """The image `document` configures, loaded with `layer` as its last layer; its `held` first layers the engine
    has: they are named, not carried, and the engine finds them by their ids and reads no file for them."""
    config = json.dumps(document).encode()
    layers = [f"held-{index}/layer.tar" for index in range(held)] + (["layer/layer.tar"] if layer else [])
    manifest = [{"Config": "config.json", "RepoTags": None, "Layers": layers}]
    with tempfile.TemporaryFile(dir=layer.parent if layer else None) as archive:  # beside a large layer
        with tarfile.open(fileobj=archive, mode="w") as bundle:
            for name, data in (("manifest.json", json.dumps(manifest).encode()), ("config.json", config)):
                member = tarfile.TarInfo(name)
                member.size, member.mtime = len(data), int(time.time())
                bundle.addfile(member, io.BytesIO(data))
            if layer:
                bundle.add(layer, arcname="layer/layer.tar")
        archive.seek(0)
        for _ in client.api.load_image(archive):  # the engine answers as it goes: read to the end
            pass
    return client.images.get("sha256:" + hashlib.sha256(config).hexdigest())


def _committed(
    client: docker.DockerClient, parent_id: str, layer: Path, entrypoint: list[str], args: list[str],
    env: dict[str, str], labels: dict[str, str],
) -> Image:  # fmt: skip
    container = client.containers.create(parent_id, labels=labels, network_disabled=True)
    try:
        container.put_archive("/", layer.read_bytes())
        conf = {"Entrypoint": entrypoint, "Cmd": args, "Env": [f"{k}={v}" for k, v in env.items()],
                "User": identity.CONTAINER_USER}  # fmt: skip
        return container.commit(conf=conf)
    finally:
        with contextlib.suppress(APIError):
            container.remove(force=True)
