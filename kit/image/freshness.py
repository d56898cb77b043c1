"""Whether a server's image is current: a hash of everything it is made from, recorded as a label at build."""

from __future__ import annotations

import hashlib

import docker
from docker.models.images import Image

from kit import __version__
from kit.containers import engine
from kit.identity import BUILD_HASH, image_tag, labels_of
from kit.image import baked_files, bases
from kit.image.dockerfile import expander_source, expands, template
from kit.project import locks
from kit.project.locks import Lock
from kit.project.servers import Server
from kit.project.settings import Settings
from kit.project.sources import source_hash
from kit.resources import runtime_source_dir


def build_hash(settings: Settings, server: Server, base_id: str, lock: Lock | None) -> str:
    """Everything an image is made from; when it matches the existing image's label, the build is skipped."""
    parts = [__version__, template(), server.declaration.model_dump_json(), settings.base_image, base_id]
    parts += [lock.text() if lock else "", baked_files.digest(server)]
    if expands(server.declaration):
        parts.append(expander_source().decode())
    if server.path is not None:
        parts += [source_hash(p) for p in [server.path, *server.local_package_paths, runtime_source_dir()]]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def build_state(client: docker.DockerClient, settings: Settings, server: Server) -> tuple[str, Image | None]:
    """("missing" | "current" | "stale", the tagged image): stale means its sources, lock, base or recipe changed."""
    if server.image is not None:  # a prebuilt image: current when it is on this machine, as it is
        image = engine.find_image(client, server.image)
        return ("current" if image is not None else "missing"), image
    settings = bases.server_settings(settings, server)
    image = engine.find_image(client, image_tag(settings, server))
    if image is None:
        return "missing", None
    base = engine.find_image(client, settings.base_image)
    lock = locks.read(locks.lock_path(server.project_dir, server.name))
    expected = build_hash(settings, server, base.id if base else "", lock)
    return ("current" if labels_of(image).get(BUILD_HASH) == expected else "stale"), image
