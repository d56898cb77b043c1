"""`kit base`: a Python base image made on the host from Debian packages, for engines that cannot pull one."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import docker

from kit import engine
from kit.errors import KitError
from kit.reporting import Reporter
from kit.resources import images_dir
from kit.settings import Settings

RECIPE_LABEL = "io.mcpkit.base-recipe"


@dataclass(frozen=True)
class BaseResult:
    tag: str
    image_id: str
    size_bytes: int
    built: bool  # False when the tag already existed


def recipe_path() -> Path:
    return images_dir() / "base" / "recipe.toml"


def is_kit_base(settings: Settings) -> bool:
    """Whether the configured base is one `kit base` makes (rather than a registry image like python:3.12-slim)."""
    return settings.base_image.startswith(settings.image_prefix + "/base:")


def ensure_base_image(settings: Settings, reporter: Reporter, *, force: bool = False) -> BaseResult:
    with engine.connected() as client:
        return _ensure(client, settings, reporter, force=force)


def _ensure(
    client: docker.DockerClient, settings: Settings, reporter: Reporter, *, force: bool
) -> BaseResult:
    tag = settings.base_image
    if not force and engine.image_exists(client, tag):
        image = client.images.get(tag)
        reporter.step(f"base image {tag} already exists; `kit base --force` rebuilds it")
        return BaseResult(tag, image.id, image.attrs.get("Size", 0), built=False)
    _check_prerequisites()
    recipe_text = recipe_path().read_text(encoding="utf-8")
    recipe = tomllib.loads(recipe_text)
    with tempfile.TemporaryDirectory(prefix="mcpkit-base-") as workdir:
        rootfs = Path(workdir) / "rootfs"
        _debootstrap(recipe, settings, rootfs, reporter)
        reporter.step("trimming the root filesystem")
        _strip(rootfs, recipe.get("strip", []))
        reporter.step(f"importing it into Docker as {tag}")
        image = _import(client, rootfs, Path(workdir) / "rootfs.tar", tag, recipe, recipe_text)
    reporter.step(f"built {tag} ({image.attrs.get('Size', 0) / 1e6:.0f} MB)")
    return BaseResult(tag, image.id, image.attrs.get("Size", 0), built=True)


def _check_prerequisites() -> None:
    if os.name != "posix" or os.geteuid() != 0:
        raise KitError(
            "building the base image needs root (debootstrap creates device files and changes ownership)",
            hint="run `sudo kit base`, or use a standard base instead: KIT_BASE_IMAGE=python:3.12-slim kit build",
        )
    if shutil.which("debootstrap") is None:
        raise KitError("debootstrap is not installed", hint="install it: `apt-get install debootstrap`")
    if shutil.which("tar") is None:
        raise KitError("tar is not installed", hint="install it: `apt-get install tar`")


def _debootstrap(recipe: dict, settings: Settings, rootfs: Path, reporter: Reporter) -> None:
    command = [
        "debootstrap",
        f"--variant={recipe.get('variant', 'minbase')}",
        f"--include={','.join(recipe.get('include', []))}",
        settings.debian_suite,
        str(rootfs),
        settings.debian_mirror,
    ]
    reporter.step(f"debootstrap {settings.debian_suite} from {settings.debian_mirror} (about a minute)")
    tail: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            reporter.detail(line.rstrip())
            tail = [*tail[-19:], line.rstrip()]
    if process.wait() != 0:
        raise KitError(
            "debootstrap failed:\n" + "\n".join(tail),
            hint="check that the Debian mirror is reachable (KIT_DEBIAN_MIRROR) and the suite exists (KIT_DEBIAN_SUITE)",
        )


def _strip(rootfs: Path, patterns: list[str]) -> None:
    for pattern in patterns:
        for match in glob.glob(str(rootfs / pattern)):
            path = Path(match)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _import(
    client: docker.DockerClient, rootfs: Path, tarball: Path, tag: str, recipe: dict, recipe_text: str
) -> docker.models.images.Image:
    subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    repository, _, version = tag.rpartition(":")
    recipe_hash = hashlib.sha256(recipe_text.encode()).hexdigest()[:16]
    changes = [*recipe.get("changes", []), f"LABEL {RECIPE_LABEL}={recipe_hash}"]
    client.api.import_image(src=str(tarball), repository=repository, tag=version, changes=changes)
    return client.images.get(tag)
