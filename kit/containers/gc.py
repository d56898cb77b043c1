"""`kit gc`: removes what the kit leaves behind, and only that.

- stopped kit containers (clients start theirs with --rm, so these are crashes and interrupted runs), and smoke-test
  containers still around after the longest smoke test (an interrupted build);
- build-stage images: every build leaves its build stage untagged (MCPKIT_BUILD_STAGE in its environment names
  the server); the newest one of each server is the next build's cache and stays unless asked;
- superseded server images: kit images that lost their tag to a rebuild.

Only the current project's, unless asked for every project's: images, build stages and containers carry the
project's identity. Never a running container (a client's session), never one that compose or another tool
manages, never a volume: volumes hold users' data (the mailer's outbox). The engine may be busy with other work
meanwhile: what vanished or cannot be measured is skipped, not fatal.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import docker
from docker.errors import APIError, NotFound

from kit import identity
from kit.containers import engine

BUILD_STAGE_MARK = "MCPKIT_BUILD_STAGE="  # set in images/server.Dockerfile's build stage
_SMOKE_TEST_LIFETIME = 300.0  # seconds: far beyond the smoke test's own timeout
# Labels of containers another tool manages: theirs to remove, even when they run the kit's images.
_FOREIGN_MANAGERS = ("com.docker.compose.project", "io.kubernetes.pod.name")


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


def find_leftovers(
    client: docker.DockerClient, project: str | None, *, cache: bool = False
) -> list[Leftover]:
    """Stale kit containers, then superseded images and build stages (with `cache`, each server's newest too), of
    `project` (a project_id), or of every project when it is None."""
    found = [Leftover("container", c.short_id, reason, 0) for c, reason in _stale_containers(client, project)]
    unique_sizes = {
        image["Id"]: image["Size"] - max(image.get("SharedSize", 0), 0)
        for image in _disk_usage(client).get("Images") or []
    }
    return found + _leftover_images(client, project, cache=cache, unique_sizes=unique_sizes)


def prune_after_build(client: docker.DockerClient, project: str, server: str, stage: str) -> None:
    """What a successful build of `server` made stale: its older build stages and its superseded images (not
    sized: that would ask the engine to size everything it holds, after every build)."""
    for item in _leftover_images(client, project, cache=False, unique_sizes={}):
        if item.owner in (server, stage):
            with contextlib.suppress(APIError):
                client.images.remove(item.id)


def collect_garbage(project: str | None, *, dry_run: bool = False, cache: bool = False) -> GcReport:
    with engine.connected() as client:
        leftovers = find_leftovers(client, project, cache=cache)
        report = GcReport(leftovers=leftovers, dry_run=dry_run)
        if dry_run:
            report.reclaimed_bytes = sum(item.bytes for item in leftovers)
            return report
        before = _disk_usage(client).get("LayersSize")
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
        after = _disk_usage(client).get("LayersSize")
        report.reclaimed_bytes = max(0, before - after) if before and after else 0
    return report


def _disk_usage(client: docker.DockerClient) -> dict[str, Any]:
    """The engine's `system df`, or nothing when it is busy with another one (it runs one at a time)."""
    for attempt in range(3):
        try:
            return dict(client.df())
        except APIError:
            time.sleep(0.5 * (attempt + 1))
    return {}


def _stale_containers(
    client: docker.DockerClient, project: str | None
) -> list[tuple[docker.models.containers.Container, str]]:
    stale = []
    wanted = [f"{identity.MANAGED}=true", *([f"{identity.PROJECT}={project}"] if project else [])]
    for container in client.containers.list(all=True, filters={"label": wanted}, ignore_removed=True):
        if any(label in container.labels for label in _FOREIGN_MANAGERS):
            continue
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
    client: docker.DockerClient, project: str | None, *, cache: bool, unique_sizes: dict[str, int]
) -> list[Leftover]:
    """`unique_sizes`: the space each image alone holds, by id (what removing it gives back)."""
    stages: dict[str, list[docker.models.images.Image]] = {}
    found = []
    for image in client.images.list(filters={"dangling": True}):
        if project and not _belongs(image, project):
            continue
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


def _belongs(image: docker.models.images.Image, project: str) -> bool:
    """A server image names its project in a label; a build stage, in its stage key (`PROJECT_ID/server`)."""
    if identity.labels_of(image).get(identity.PROJECT) == project:
        return True
    return any(e.startswith(f"{BUILD_STAGE_MARK}{project}/") for e in _env(image))


def _env(image: docker.models.images.Image) -> list[str]:
    return list((image.attrs.get("Config") or {}).get("Env") or [])


def _age(container: docker.models.containers.Container) -> float:
    """Seconds since the container was created (the engine reports nanoseconds, which Python does not parse)."""
    match = re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", container.attrs.get("Created", ""))
    if match is None:
        return 0.0
    return time.time() - datetime.fromisoformat(match.group()).replace(tzinfo=UTC).timestamp()
