"""`kit gc`: removes what the kit leaves behind, and only that.

- stopped kit containers (clients start theirs with --rm, so these are crashes and interrupted runs), and smoke-test
  containers still around after the longest smoke test (an interrupted build);
- build-stage images: every build leaves its build stage untagged (MCPKIT_BUILD_STAGE in its environment names
  the server); the newest one of each server is the next build's cache and stays unless asked;
- superseded server images: kit images that lost their tag to a rebuild.

Volumes are never touched: they hold users' data (the mailer's outbox).
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import docker
from docker.errors import APIError, NotFound

from kit import identity
from kit.containers import engine

BUILD_STAGE_MARK = "MCPKIT_BUILD_STAGE="  # set in images/server.Dockerfile's build stage
_SMOKE_TEST_LIFETIME = 300.0  # seconds: far beyond the smoke test's own timeout


@dataclass(frozen=True)
class Leftover:
    kind: str  # "container" or "image"
    id: str
    what: str  # why it is garbage, for people
    bytes: int  # space it alone holds (0 for a container's writable layer we do not measure)
    owner: str = ""  # the build stage key or server it belongs to


@dataclass
class GcReport:
    leftovers: list[Leftover] = field(default_factory=list)
    removed: list[Leftover] = field(default_factory=list)
    reclaimed_bytes: int = 0
    dry_run: bool = False


def find_leftovers(client: docker.DockerClient, *, cache: bool = False) -> list[Leftover]:
    """Stale kit containers, then superseded images and build stages (with `cache`, each server's newest too)."""
    found = [Leftover("container", c.short_id, reason, 0) for c, reason in _stale_containers(client)]
    unique_sizes = {
        image["Id"]: image["Size"] - max(image.get("SharedSize", 0), 0) for image in client.df()["Images"]
    }
    return found + _leftover_images(client, cache=cache, unique_sizes=unique_sizes)


def prune_after_build(client: docker.DockerClient, server: str, stage: str) -> None:
    """What a successful build of `server` made stale: its older build stages and its superseded images (not
    sized: that would ask the engine to size everything it holds, after every build)."""
    for item in _leftover_images(client, cache=False, unique_sizes={}):
        if item.owner in (server, stage):
            with contextlib.suppress(APIError):
                client.images.remove(item.id)


def collect_garbage(*, dry_run: bool = False, cache: bool = False) -> GcReport:
    with engine.connected() as client:
        leftovers = find_leftovers(client, cache=cache)
        report = GcReport(leftovers=leftovers, dry_run=dry_run)
        if dry_run:
            report.reclaimed_bytes = sum(item.bytes for item in leftovers)
            return report
        before = client.df()["LayersSize"]
        for item in leftovers:  # containers first: an image a stopped container uses cannot go
            with contextlib.suppress(NotFound):
                try:
                    if item.kind == "container":
                        client.containers.get(item.id).remove(force=True)
                    else:
                        client.images.remove(item.id, noprune=False)
                except APIError:
                    continue  # in use by something else after all: left alone
                report.removed.append(item)
        report.reclaimed_bytes = max(0, before - client.df()["LayersSize"])
    return report


def _stale_containers(client: docker.DockerClient) -> list[tuple[docker.models.containers.Container, str]]:
    stale = []
    for container in client.containers.list(all=True, filters={"label": f"{identity.MANAGED}=true"}):
        server = container.labels.get(identity.SERVER, "?")
        status = container.status
        if status in ("exited", "dead", "created"):
            stale.append((container, f"{status} container of {server}"))
        elif identity.SMOKE_TEST in container.labels and _age(container) > _SMOKE_TEST_LIFETIME:
            stale.append(
                (container, f"smoke-test container of {server} left running by an interrupted build")
            )
    return stale


def _leftover_images(
    client: docker.DockerClient, *, cache: bool, unique_sizes: dict[str, int]
) -> list[Leftover]:
    """`unique_sizes`: the space each image alone holds, by id (what removing it gives back)."""
    stages: dict[str, list[docker.models.images.Image]] = {}
    found = []
    for image in client.images.list(filters={"dangling": True}):
        size = unique_sizes.get(image.id, 0)
        image_id = image.id.removeprefix("sha256:")[:12]
        stage = next(
            (e.removeprefix(BUILD_STAGE_MARK) for e in _env(image) if e.startswith(BUILD_STAGE_MARK)), None
        )
        server = identity.labels_of(image).get(identity.SERVER)
        if stage is not None:
            stages.setdefault(stage, []).append(image)
        elif server and identity.labels_of(image).get(identity.MANAGED) == "true":
            found.append(
                Leftover("image", image_id, f"image of {server} superseded by a rebuild", size, server)
            )
    for stage, images in stages.items():
        images.sort(key=lambda i: str(i.attrs.get("Created", "")), reverse=True)
        for index, image in enumerate(images):
            if index or cache:
                what = "build cache" if not index else "older build stage"
                found.append(Leftover("image", image.id.removeprefix("sha256:")[:12], f"{what} of {stage}",
                                      unique_sizes.get(image.id, 0), stage))  # fmt: skip
    return found


def _env(image: docker.models.images.Image) -> list[str]:
    return list((image.attrs.get("Config") or {}).get("Env") or [])


def _age(container: docker.models.containers.Container) -> float:
    """Seconds since the container was created (the engine reports nanoseconds, which Python does not parse)."""
    match = re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", container.attrs.get("Created", ""))
    if match is None:
        return 0.0
    return time.time() - datetime.fromisoformat(match.group()).replace(tzinfo=UTC).timestamp()
