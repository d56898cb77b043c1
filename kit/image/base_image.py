"""`kit base`: images made on the host from Debian packages, for engines that cannot pull one.

A recipe (images/<name>/recipe.toml) names the packages; debootstrap builds the root filesystem, the recipe's
strip list trims it, its files are copied in, and `docker import` turns it into an image. Debian's official
images are made the same way. The Python base of every server image is the recipe `base`.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import docker

from kit.containers import engine
from kit.errors import KitError
from kit.project.settings import Settings
from kit.reporting import Reporter
from kit.resources import images_dir

RECIPE_LABEL = "io.mcpkit.base-recipe"


@dataclass(frozen=True)
class Recipe:
    name: str
    folder: Path
    text: str
    include: list[str]
    variant: str = "minbase"
    strip: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path in the image -> file beside the recipe

    @property
    def digest(self) -> str:
        parts = [
            self.text,
            *((self.folder / source).read_text(encoding="utf-8") for source in self.files.values()),
        ]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BaseResult:
    tag: str
    image_id: str
    size_bytes: int
    built: bool  # False when the tag already existed


def load_recipe(name: str) -> Recipe:
    folder = images_dir() / name
    text = (folder / "recipe.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return Recipe(
        name=name,
        folder=folder,
        text=text,
        include=list(data.get("include", [])),
        variant=data.get("variant", "minbase"),
        strip=list(data.get("strip", [])),
        changes=list(data.get("changes", [])),
        files=dict(data.get("files", {})),
    )


def is_kit_base(settings: Settings) -> bool:
    """Whether the configured base is one `kit base` makes (not a registry image such as python:3.12-slim)."""
    return settings.base_image.startswith(settings.image_prefix + "/base:")


def ensure_base_image(settings: Settings, reporter: Reporter, *, force: bool = False) -> BaseResult:
    return ensure_recipe_image(settings, load_recipe("base"), settings.base_image, reporter, force=force)


def ensure_recipe_image(
    settings: Settings, recipe: Recipe, tag: str, reporter: Reporter, *, force: bool = False
) -> BaseResult:
    with engine.connected() as client:
        image = engine.find_image(client, tag)
        if image is not None and not force:
            reporter.step(f"image {tag} already exists; `--force` rebuilds it")
            return BaseResult(tag, image.id, image.attrs.get("Size", 0), built=False)
        _check_prerequisites()
        with tempfile.TemporaryDirectory(prefix=f"mcpkit-{recipe.name}-") as workdir:
            rootfs = Path(workdir) / "rootfs"
            _debootstrap(recipe, settings, rootfs, reporter)
            reporter.step("trimming the root filesystem")
            _strip(rootfs, recipe.strip)
            _add_files(rootfs, recipe)
            reporter.step(f"importing it into Docker as {tag}")
            image = _import(client, rootfs, Path(workdir) / "rootfs.tar", tag, recipe)
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


def _debootstrap(recipe: Recipe, settings: Settings, rootfs: Path, reporter: Reporter) -> None:
    command = ["debootstrap", f"--variant={recipe.variant}", f"--include={','.join(recipe.include)}"]
    command += [settings.debian_suite, str(rootfs), settings.debian_mirror]
    reporter.step(
        f"debootstrap {settings.debian_suite} from {settings.debian_mirror} (minutes: it downloads and unpacks Debian packages)"
    )
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


def _add_files(rootfs: Path, recipe: Recipe) -> None:
    for destination, source in recipe.files.items():
        target = rootfs / destination.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(recipe.folder / source, target)
        target.chmod(0o755)


def _import(
    client: docker.DockerClient, rootfs: Path, tarball: Path, tag: str, recipe: Recipe
) -> docker.models.images.Image:
    subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    repository, _, version = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
    changes = [*recipe.changes, f"LABEL {RECIPE_LABEL}={recipe.digest}"]
    client.api.import_image(src=str(tarball), repository=repository, tag=version, changes=changes)
    return client.images.get(tag)
