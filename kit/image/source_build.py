"""Wheels built from a project's source tree without running its code on the host.

A server folder is someone else's code, and building it runs code: its build backend, hooks, a `setup.py`. So the
tree (only its image files, see kit/project/sources.py) is built inside a throwaway container of the base image:
no network, no capabilities, a numeric user, the tree read-only; the build backend comes from wheels resolved and
downloaded on the host like any dependency. What comes out is a wheel, and only the wheel is kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import tomllib
from pathlib import Path

from docker.errors import ContainerError, ImageNotFound

from kit import files, identity
from kit.containers import engine
from kit.errors import KitError
from kit.image import wheelhouse
from kit.project.locks import LockedPackage
from kit.project.settings import Settings
from kit.project.sources import copy_sources
from kit.reporting import Reporter

# PEP 517's fallback when a project declares no build system.
DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0"]
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
# pip runs straight from its wheel (downloaded on the host with the backend): no venv, no ensurepip, no network.
_SCRIPT = (
    "set -e; cp -r /src /tmp/src; python3 /wheels/{pip}/pip --disable-pip-version-check --no-cache-dir wheel "
    "--quiet --no-index --find-links /wheels --no-deps --wheel-dir /out /tmp/src"
)


def _build_system(source: Path) -> dict[str, object]:
    try:
        pyproject = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KitError(f"cannot read {source / 'pyproject.toml'}: {exc}") from None
    system = pyproject.get("build-system", {})
    return system if isinstance(system, dict) else {}


def build_requirements(source: Path) -> list[str]:
    requires = _build_system(source).get("requires", DEFAULT_BUILD_REQUIRES)
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise KitError(
            f"[build-system] requires in {source / 'pyproject.toml'} must be a list of requirements"
        )
    return requires


def build_backend(source: Path) -> list[str]:
    """The build backend's object reference, then the folders (relative, inside the tree) it is imported from."""
    system = _build_system(source)
    name, paths = system.get("build-backend", DEFAULT_BACKEND), system.get("backend-path", [])
    where = f"[build-system] in {source / 'pyproject.toml'}"
    if not isinstance(name, str) or not name.strip():
        raise KitError(f"build-backend in {where} must be an object reference such as hatchling.build")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise KitError(f"backend-path in {where} must be a list of folders")
    for path in paths:
        if Path(path).is_absolute() or not (source / path).resolve().is_relative_to(source.resolve()):
            raise KitError(f"backend-path {path!r} in {where} must be a folder inside the project")
    return [name.strip(), *paths]


def build_wheel(
    settings: Settings, target: wheelhouse.PythonTarget, folder: Path, destination: Path, reporter: Reporter
) -> Path:
    """`folder` built into a wheel in `destination`, inside a container with no network."""
    destination.mkdir(parents=True, exist_ok=True)
    scratch_root = settings.cache_dir / "source-builds"
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=scratch_root) as scratch:
        source, backend, pip = prepare(settings, target, folder, Path(scratch), reporter)
        out = Path(scratch) / "out"
        out.mkdir()
        os.chmod(out, 0o777)  # the container's numeric user writes the wheel here
        _run_build(settings, folder, source, backend, out, _SCRIPT.format(pip=pip))
        wheels = list(out.glob("*.whl"))
        if len(wheels) != 1:
            raise KitError(f"building {folder} gave {len(wheels)} wheels, not one")
        return Path(shutil.copy2(wheels[0], destination / wheels[0].name))


def prepare(
    settings: Settings, target: wheelhouse.PythonTarget, folder: Path, scratch: Path, reporter: Reporter
) -> tuple[Path, Path, str]:
    """In `scratch`: the folder's image files (src) and its build backend's wheels with pip's (wheels); and the
    name of pip's wheel, which a build runs pip from."""
    source = copy_sources(folder, scratch / "src")
    backend = scratch / "wheels"
    backend.mkdir()
    requires = build_requirements(source)
    reporter.detail(f"build backend for {folder.name}: {', '.join(requires)}")
    packages = _backend(settings, target, requires, reporter)
    for package in packages:
        shutil.copy2(settings.wheelhouse / str(package.filename), backend)
    return source, backend, next(str(p.filename) for p in packages if p.name.lower() == "pip")


def _backend(
    settings: Settings, target: wheelhouse.PythonTarget, requires: list[str], reporter: Reporter
) -> list[LockedPackage]:
    """The build backend's wheels (and pip's), resolved once per set of requirements and target, then reused."""
    key = hashlib.sha256(json.dumps([sorted(requires), target.describe()]).encode()).hexdigest()[:24]
    remembered = settings.cache_dir / "build-backends" / f"{key}.json"
    if remembered.is_file():
        packages = [LockedPackage(**item) for item in json.loads(remembered.read_text(encoding="utf-8"))]
    else:
        packages = wheelhouse.resolve([*requires, "pip"], target, [settings.wheelhouse], reporter)
    wheelhouse.download(packages, target, settings.wheelhouse, reporter)
    if not remembered.is_file():
        files.write_atomically(remembered, json.dumps([dataclasses.asdict(p) for p in packages]))
    return packages


def _run_build(settings: Settings, folder: Path, source: Path, backend: Path, out: Path, script: str) -> None:
    labels = {identity.MANAGED: "true", identity.PROJECT: identity.project_id(settings.project_dir),
              **settings.container_labels}  # fmt: skip
    with engine.connected() as client:
        try:
            client.containers.run(
                settings.base_image, ["sh", "-c", script], remove=True, network_mode="none",
                cap_drop=["ALL"], security_opt=["no-new-privileges"], user=identity.CONTAINER_USER,
                environment={"HOME": "/tmp", "PIP_NO_INPUT": "1"}, mem_limit="1g", pids_limit=256,
                tmpfs={"/tmp": "rw,exec,nosuid,nodev,size=1g"}, read_only=True, labels=labels,
                volumes={str(source): {"bind": "/src", "mode": "ro"}, str(backend): {"bind": "/wheels", "mode": "ro"},
                         str(out): {"bind": "/out", "mode": "rw"}},
            )  # fmt: skip
        except ImageNotFound:
            raise KitError(
                f"base image {settings.base_image} is not available", hint="run `kit base`"
            ) from None
        except ContainerError as exc:
            stderr = (
                exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else str(exc.stderr)
            )
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise KitError(
                f"building the wheel of {folder} failed (in a container without network):\n{tail}",
                hint=f"check {folder / 'pyproject.toml'}; its build backend must come as wheels from the index",
            ) from None
